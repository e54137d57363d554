"""Fault soak: N build + wait cycles through real playbooks with a share of every API request faulted.

By hand:   .venv/bin/python tests/integration/soak.py --cycles 200      (tools/dev.py setup first)
In tests:  soak(emu, cycles=4, ...) from test_reliability.py.

Reports the success rate (first run and after re-runs), duplicate packages (more than one package for one
build) and lost packages (a finished build job whose package is missing). Goal: 100 %, 0, 0.
"""

import argparse
import collections
import json
import os
import sys
import tempfile
import time

from harness import ADMIN, FAST, GIT_APP, TOKENS, run_playbook

REVISIONS = ["6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4", "93de884c0b1a2d3e4f5061728394a5b6c7d8e9f0",
             "1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d", "e4b1d2c3a4f5e6d7c8b9a0f1e2d3c4b5a6978899"]
KINDS = ["429", "500", "502", "503", "504", "reset", "slow", "lost_response"]
LOST_MESSAGE = "The request was not sent again, so that no duplicate is made"
MAX_RUNS = 6


def soak(emu, cycles, rate, seed, workdir, wait_timeout=10, log=None):
    emu.control("POST", "reset")
    emu.control("POST", "faults", {"rate": rate, "kinds": KINDS, "seed": seed, "slow_seconds": 1})
    started = time.monotonic()
    first_run_ok = 0
    converged = 0
    failures = collections.Counter()
    runs = 0
    for cycle in range(cycles):
        version = f"9.{seed % 1000}.{cycle}"
        revision = REVISIONS[cycle % len(REVISIONS)]
        for attempt in range(MAX_RUNS):
            runs += 1
            run = run_playbook(emu, "build", workdir, app_id=GIT_APP, branch="main", revision=revision, version=version,
                               wait_timeout=wait_timeout, retries=8)
            if run.rc == 0:
                first_run_ok += attempt == 0
                converged += 1
                break
            text = run.stdout + run.stderr
            kind = "lost answer" if LOST_MESSAGE in text else "other: " + failure_message(text)
            failures[kind] += 1
        if log:
            log(f"cycle {cycle + 1}/{cycles}: {'converged' if run.rc == 0 else 'NOT converged'} after {attempt + 1} run(s)")
    emu.control("POST", "faults", {"rate": 0})
    packages = packages_of_all(emu)
    per_version = collections.Counter(p["modelVersion"] for p in packages)
    ids = {p["id"] for p in packages}
    jobs = emu.control("GET", "jobs")
    lost = [j for j in jobs if j["kind"] == "build" and j["status"] == "finished" and j.get("packageId") not in ids]
    faulted = collections.Counter(r["fault"] for r in emu.requests() if r["fault"])
    return {
        "cycles": cycles,
        "runs": runs,
        "first_run_success": first_run_ok,
        "converged": converged,
        "success_rate_first_run": round(100.0 * first_run_ok / cycles, 1),
        "success_rate_after_reruns": round(100.0 * converged / cycles, 1),
        "duplicates": sum(n - 1 for n in per_version.values() if n > 1),
        "lost": len(lost),
        "failures": dict(failures),
        "faults_injected": sum(faulted.values()),
        "faults_by_kind": dict(faulted),
        "api_requests": len(emu.requests()),
        "seconds": round(time.monotonic() - started, 1),
    }


def failure_message(text):
    """The module's msg from a failed run's output, shortened."""
    for line in text.splitlines():
        if line.startswith("fatal:") and '"msg": "' in line:
            return line.split('"msg": "', 1)[1][:160]
    return text.strip().splitlines()[-1][:160] if text.strip() else "no output"


def packages_of_all(emu):
    """Every package of the app, paging through the emulator's list directly."""
    import urllib.request  # pylint: disable=import-outside-toplevel

    out, offset = [], 0
    while True:
        req = urllib.request.Request(f"{emu.url}/apps/{GIT_APP}/packages?limit=50&offset={offset}",
                                     headers={"Authorization": f"MxToken {ADMIN}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            page = json.loads(resp.read())["packages"]
        out += page
        if len(page) < 50:
            return out
        offset += 50


def main():
    from mxpc_emulator.testing import EmulatorProcess  # pylint: disable=import-outside-toplevel

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--wait-timeout", type=int, default=10)
    parser.add_argument("--report", help="write the report as JSON to this file")
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(root, ".venv", "collections"))
    os.environ.setdefault("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    with tempfile.TemporaryDirectory(prefix="mxpc-soak-") as work, EmulatorProcess(args=FAST) as emu:
        report = soak(emu, args.cycles, args.rate, args.seed, _Dir(work), args.wait_timeout,
                      log=lambda line: print(line, flush=True))
    print(json.dumps(report, indent=2))
    if args.report:
        with open(args.report, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
    ok = report["converged"] == report["cycles"] and report["duplicates"] == 0 and report["lost"] == 0
    assert not any(t in json.dumps(report) for t in TOKENS.values())
    return 0 if ok else 1


class _Dir:
    """The little of pathlib.Path that run_playbook uses, for a plain folder."""

    def __init__(self, path):
        self.path = path

    def __truediv__(self, name):
        return os.path.join(self.path, name)

    def iterdir(self):
        return os.listdir(self.path)


if __name__ == "__main__":
    sys.exit(main())

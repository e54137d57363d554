"""Fault soak: N cycles through real playbooks with a share of every API request faulted, every fault kind.

By hand:   .venv/bin/python tests/integration/soak.py --cycles 200      (tools/dev.py setup first)
In tests:  soak(emu, cycles=6, ...) from test_resilience.py.

Even cycles build a new version, odd cycles upload a new .mda. A cycle runs its playbook until it succeeds (at most
MAX_RUNS times). At the end the faults are turned off and the soak waits until no job is pending, then checks each
cycle: exactly one package of its build (modelVersion) or upload (stored file name), that package is the one the
run returned, and the API got exactly one build or upload request for it (counted from the emulator's jobs, so a
request sent twice shows even when the second one failed).

Reports the success rate (first run and after re-runs), duplicates (more than one package for one cycle), lost
packages (a cycle with no package, or a finished job whose package is missing), wrong hand-overs (a run that
returned another package than its cycle's) and the requests per cycle. Goal: 100 %, 0, 0, 0, one request each.
"""

import argparse
import collections
import json
import os
import sys
import tempfile
import time
import urllib.request

from harness import ADMIN, FAST, GIT_APP, TOKENS, digest_name, make_mda, run_playbook
from mxpc_emulator.middleware import FAULT_KINDS

REVISIONS = ["6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4", "93de884c0b1a2d3e4f5061728394a5b6c7d8e9f0",
             "1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d", "e4b1d2c3a4f5e6d7c8b9a0f1e2d3c4b5a6978899"]
# Every kind the emulator can inject but those that break what the collection must assume: acted_429 and acted_503
# (a 429 or 503 answered after the request was carried out; a build or upload refused with 429 or 503 is sent again,
# so these can make a second package - the assumption's limit, shown in test_faults.py), and empty_list and
# shifted_list (a package list that hides packages while answering 200, which no client can tell from the truth; the
# event source's tests use them).
LEFT_OUT = ("acted_429", "acted_503", "empty_list", "shifted_list")
KINDS = [kind for kind in FAULT_KINDS if kind not in LEFT_OUT]
LOST_MESSAGE = "The request was not sent again, so that no duplicate is made"
MAX_RUNS = 6
SETTLE_SECONDS = 120


class Cycle:
    """One build or upload: what it asks for, how to tell its package, what its runs returned."""

    def __init__(self, number, seed, workdir):
        self.number = number
        self.kind = "upload" if number % 2 else "build"
        self.runs = 0
        self.returned = None
        if self.kind == "build":
            self.version = f"9.{seed % 1000}.{number}"
            self.revision = REVISIONS[number % len(REVISIONS)]
            self.model_version = f"{self.version}.{self.revision[:8]}"
        else:
            self.src = make_mda(workdir / f"soak-{seed}-{number}.mda", size=2048)
            self.stored_name = digest_name(self.src)

    def play(self, emu, workdir, wait_timeout):
        if self.kind == "build":
            return run_playbook(emu, "build", workdir, app_id=GIT_APP, branch="main", revision=self.revision,
                                version=self.version, wait_timeout=wait_timeout, retries=8)
        return run_playbook(emu, "upload", workdir, app_id=GIT_APP, src=self.src, wait_timeout=wait_timeout, retries=8)

    def packages(self, packages):
        if self.kind == "build":
            return [p for p in packages if p["modelVersion"] == self.model_version]
        return [p for p in packages if p["fileName"] == self.stored_name]

    def requests(self, jobs):
        """The build or upload requests the API accepted for this cycle (one job each)."""
        if self.kind == "build":
            return [j for j in jobs if j["kind"] == "build" and j["params"].get("version") == self.version]
        return [j for j in jobs if j["kind"] == "upload" and j["params"].get("file_name") == self.stored_name]


def soak(emu, cycles, rate, seed, workdir, wait_timeout=10, log=None):
    emu.control("POST", "reset")
    emu.control("POST", "faults", {"rate": rate, "kinds": KINDS, "seed": seed, "slow_seconds": 1})
    started = time.monotonic()
    failures = collections.Counter()
    done = []
    for number in range(cycles):
        cycle = Cycle(number, seed, workdir)
        for _attempt in range(MAX_RUNS):
            cycle.runs += 1
            run = cycle.play(emu, workdir, wait_timeout)
            if run.rc == 0:
                cycle.returned = run.result["package_id"]
                break
            text = run.stdout + run.stderr
            failures["lost answer" if LOST_MESSAGE in text else "other: " + failure_message(text)] += 1
        done.append(cycle)
        if log:
            state = f"returned {cycle.returned}" if cycle.returned else "NOT converged"
            log(f"cycle {number + 1}/{cycles} ({cycle.kind}): {state} after {cycle.runs} run(s)")
    emu.control("POST", "faults", {"rate": 0})
    pending = settle(emu)
    packages = packages_of_all(emu)
    jobs = emu.control("GET", "jobs")
    ids = {p["id"] for p in packages}
    per_cycle = [(c, c.packages(packages), c.requests(jobs)) for c in done]
    converged = [c for c in done if c.returned]
    faulted = collections.Counter(r["fault"] for r in emu.requests() if r["fault"])
    return {
        "cycles": cycles,
        "builds": sum(c.kind == "build" for c in done),
        "uploads": sum(c.kind == "upload" for c in done),
        "runs": sum(c.runs for c in done),
        "first_run_success": sum(c.runs == 1 for c in converged),
        "converged": len(converged),
        "success_rate_first_run": round(100.0 * sum(c.runs == 1 for c in converged) / cycles, 1),
        "success_rate_after_reruns": round(100.0 * len(converged) / cycles, 1),
        "duplicates": sum(len(found) - 1 for _c, found, _r in per_cycle if len(found) > 1),
        "lost": (sum(1 for _c, found, _r in per_cycle if not found)
                 + sum(1 for j in jobs if j["kind"] in ("build", "upload") and j["status"] == "finished"
                       and j.get("packageId") not in ids)),
        "wrong_hand_over": sum(1 for c, found, _r in per_cycle if c.returned and [p["id"] for p in found] != [c.returned]),
        "requests_per_cycle": dict(sorted(collections.Counter(len(r) for _c, found, r in per_cycle).items())),
        "jobs_pending_at_end": pending,
        "failures": dict(failures),
        "fault_kinds": KINDS,
        "faults_injected": sum(faulted.values()),
        "faults_by_kind": dict(sorted(faulted.items())),
        "api_requests": len(emu.requests()),
        "seconds": round(time.monotonic() - started, 1),
    }


def settle(emu, limit=SETTLE_SECONDS):
    """Wait until no job is pending (a build sent twice may still run); the number still pending after `limit`."""
    deadline = time.monotonic() + limit
    while True:
        pending = sum(1 for j in emu.control("GET", "jobs") if j["pending"])
        if not pending or time.monotonic() > deadline:
            return pending
        time.sleep(0.5)


def failure_message(text):
    """The module's msg from a failed run's output, shortened."""
    for line in text.splitlines():
        if line.startswith("fatal:") and '"msg": "' in line:
            return line.split('"msg": "', 1)[1][:160]
    return text.strip().splitlines()[-1][:160] if text.strip() else "no output"


def packages_of_all(emu):
    """Every package of the app, paging through the emulator's list directly."""
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


def healthy(report):
    """Whether a report meets the goal: every cycle converged with one request, one package, the one returned."""
    return (report["converged"] == report["cycles"] and report["duplicates"] == 0 and report["lost"] == 0
            and report["wrong_hand_over"] == 0 and report["requests_per_cycle"] == {1: report["cycles"]}
            and report["jobs_pending_at_end"] == 0)


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
    assert not any(t in json.dumps(report) for t in TOKENS.values())
    return 0 if healthy(report) else 1


class _Dir:
    """The little of pathlib.Path that run_playbook and make_mda use, for a plain folder."""

    def __init__(self, path):
        self.path = path

    def __truediv__(self, name):
        return os.path.join(self.path, name)

    def iterdir(self):
        return os.listdir(self.path)


if __name__ == "__main__":
    sys.exit(main())

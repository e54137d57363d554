"""Resilience: the rate limit, an emulator restart during a wait, and a small fault soak."""

import os
import signal
import subprocess
import time

from harness import ADMIN, FAST, GIT_APP, NAMESPACE, PLAYBOOKS, RESULT_CALLBACK, REV1, TOKENS, packages_of, run_playbook
from mxpc_emulator.testing import EmulatorProcess


def test_role_completes_under_rate_limit(tmp_path):
    # 10 requests per 15 seconds (the limit's window scaled down from a minute; the test does not measure time): the
    # role sends more than 30 requests, so it is refused again and again and waits each window out.
    with EmulatorProcess(args=FAST + ["--rate-limit", "10", "--rate-window", "15"]) as emu:
        role_vars = {"app_id": GIT_APP, "branch": "main", "revision": REV1, "namespace_id": NAMESPACE, "environment_id": "gitdemo",
                     "wait_timeout": 240}
        # A burst first, so that the role starts against an almost full window and must wait for it.
        for _attempt in range(9):
            packages_of(emu)
        started = time.monotonic()
        run = run_playbook(emu, "role", tmp_path, role_vars=role_vars)
        assert time.monotonic() - started > 15
        assert run.rc == 0, run
        log = emu.requests()
        limited = [r for r in log if r["status"] == 429]
        assert limited, "the rate limit was never reached"
        assert len(packages_of_retry(emu)) == 1


def packages_of_retry(emu):
    deadline = time.monotonic() + 90
    while True:
        try:
            return packages_of(emu)
        except Exception:  # pylint: disable=broad-except
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def test_wait_rides_through_an_emulator_restart(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    emu = EmulatorProcess(data_dir=str(data), args=["--build-seconds", "6"]).start()
    try:
        started = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1, wait=False)
        assert started.rc == 0, started
        job_id = started.result["job"]["id"]
        env = dict(os.environ, MENDIX_PRIVATE_CLOUD_URL=emu.url, MENDIX_PAT=ADMIN, MENDIX_REPOSITORY_URL=emu.root + "/v1",
                   **RESULT_CALLBACK)
        waiting = subprocess.Popen(["ansible-playbook", "-i", "localhost,", "-c", "local", os.path.join(PLAYBOOKS, "job_wait.yml"),
                                    "-e", f'{{"job_id": "{job_id}", "timeout": 120, "result_file": "{tmp_path / "wait.json"}"}}'],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        time.sleep(2.5)
        emu.stop(sig=signal.SIGKILL)
        time.sleep(3)
        emu.start()
        out, _err = waiting.communicate(timeout=180)
        assert waiting.returncode == 0, out
        assert all(token not in out for token in TOKENS.values())
        listed = packages_of(emu)
        assert len(listed) == 1
        assert '"status": "finished"' in (tmp_path / "wait.json").read_text()
    finally:
        emu.stop()


def test_fault_soak_small(emu, tmp_path):
    """The soak of tests/integration/soak.py in small: builds and uploads, every request may be faulted, every kind."""
    from soak import KINDS, LEFT_OUT, healthy, soak  # pylint: disable=import-outside-toplevel
    from mxpc_emulator.middleware import FAULT_KINDS  # pylint: disable=import-outside-toplevel

    report = soak(emu, cycles=6, rate=0.25, seed=11, workdir=tmp_path, wait_timeout=8)
    assert sorted(KINDS + list(LEFT_OUT)) == sorted(FAULT_KINDS)
    assert (report["builds"], report["uploads"]) == (3, 3)
    assert report["converged"] == report["cycles"] == 6, report
    assert report["requests_per_cycle"] == {1: 6}, report
    assert (report["duplicates"], report["lost"], report["wrong_hand_over"], report["jobs_pending_at_end"]) == (0, 0, 0, 0)
    assert healthy(report)
    assert report["faults_injected"] > 0

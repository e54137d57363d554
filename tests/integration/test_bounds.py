"""Every task ends within the bound its docs state, whatever the server does: real playbooks, faults on."""

import time

from harness import GIT_APP, make_mda, run_playbook


def timed(emu, name, tmp_path, **kwargs):
    """The run and its seconds, less what ansible-playbook's start and one module run take on this machine just now
    (timed beside it, so that a busy machine does not eat the margin the bound leaves)."""
    started = time.monotonic()
    run_playbook(emu, "startup", tmp_path)
    startup = time.monotonic() - started
    started = time.monotonic()
    run = run_playbook(emu, name, tmp_path, **kwargs)
    return run, time.monotonic() - started - startup


def test_a_retry_after_of_an_hour_fails_the_task_at_once_saying_so(emu, tmp_path):
    emu.control("POST", "faults", {"rate": 1, "kinds": ["429"], "retry_after": 3600, "path": "/packages$"})
    run, elapsed = timed(emu, "info", tmp_path, app_id=GIT_APP)
    assert run.rc != 0
    assert "the API asked to wait 3600 seconds before trying again (Retry-After)" in run.stdout
    assert elapsed < 15, elapsed  # ansible-playbook's start-up and one request, not an hour
    assert len([r for r in emu.requests() if r["path"].endswith("/packages")]) == 1


def test_a_flapping_503_ends_the_call_within_its_bound(emu, tmp_path):
    emu.control("POST", "faults", {"rate": 1, "kinds": ["503"], "path": "/packages$"})
    run, elapsed = timed(emu, "info", tmp_path, app_id=GIT_APP, retries=3, request_timeout=2)
    assert run.rc != 0 and "HTTP 503" in run.stdout
    # request_timeout x (retries + 1) plus the capped pauses; here the pauses are 0.25..0.5, 0.5..1 and 1..2 s
    assert elapsed < 2 * 4 + 3.5 + 10, elapsed
    assert len([r for r in emu.requests() if r["path"].endswith("/packages")]) == 4  # retries + 1, once each


def test_a_wait_ends_within_wait_timeout_while_the_api_flaps(emu, tmp_path):
    emu.control("POST", "settings", {"build_seconds": 3600})
    started = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision="6f995268", wait=False)
    assert started.rc == 0, started
    emu.control("POST", "faults", {"rate": 0.7, "kinds": ["503", "slow", "reset"], "slow_seconds": 20, "path": "/jobs/",
                                   "seed": 3})
    run, elapsed = timed(emu, "job_wait", tmp_path, job_id=started.result["job"]["id"], timeout=6, request_timeout=3)
    assert run.rc != 0 and "did not finish within" in run.stdout
    assert elapsed < 6 + 3 + 10, elapsed  # wait_timeout + one request_timeout, plus ansible-playbook's start-up


def test_a_stalled_download_fails_within_its_bound(emu, tmp_path):
    src = make_mda(tmp_path / "big.mda", size=2 * 1024 * 1024)
    uploaded = run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=src)
    assert uploaded.rc == 0, uploaded
    emu.control("POST", "faults", {"rate": 1, "kinds": ["slow"], "slow_seconds": 30, "path": "^/_files/"})
    run, elapsed = timed(emu, "download", tmp_path, app_id=GIT_APP, package_id=uploaded.result["package_id"],
                         dest=str(tmp_path / "out.mda"), retries=1, request_timeout=2)
    assert run.rc != 0 and "gave up after 1 retry" in run.stdout, run
    assert elapsed < 2 * 2 + 2 + 10, elapsed  # two attempts of request_timeout and a pause, not 30 s each

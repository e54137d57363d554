"""Faults: a lost answer to a build or upload is reconciled, never resent blindly; injected faults are ridden out."""

import json
import os
import signal
import subprocess
import time

import pytest

from harness import (ADMIN, GIT_APP, PLAYBOOKS, RESULT_CALLBACK, REV1, REV2, REV3, make_mda, packages_of, repository_url,
                     run_playbook)

LOST_MESSAGE = "The request was not sent again, so that no duplicate is made"


def posts(emu, path_end):
    return [r for r in emu.requests() if r["method"] == "POST" and r["path"].endswith(path_end)]


def test_lost_build_response_leaves_exactly_one_package(emu, tmp_path):
    emu.control("POST", "faults", {"rate": 1, "kinds": ["lost_response"], "methods": ["POST"], "path": "/packages/build$",
                                   "count": 1})
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1, version="1.0.0", wait_timeout=30)
    assert run.rc == 0, run
    assert run.result["changed"] is True and run.result["reconciled"] is True
    assert any("answer to the build request was lost" in w for w in run.result["warnings"])
    assert len(posts(emu, "/packages/build")) == 1
    listed = packages_of(emu)
    assert [p["id"] for p in listed] == [run.result["package_id"]]
    again = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1, version="1.0.0")
    assert again.result["changed"] is False and len(packages_of(emu)) == 1


def test_a_build_refused_with_503_is_looked_for_then_sent_again(emu, tmp_path):
    """503 (RFC 9110: the server cannot handle the request now) was not carried out: look, wait, send again."""
    emu.control("POST", "faults", {"rate": 1, "kinds": ["503"], "methods": ["POST"], "path": "/packages/build$", "count": 1})
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV2, wait_timeout=30)
    assert run.rc == 0 and run.result["changed"] is True, run
    assert [r["status"] for r in posts(emu, "/packages/build")] == [503, 202]
    assert any("was not taken (HTTP 503)" in w for w in run.result["warnings"])
    assert [p["id"] for p in packages_of(emu)] == [run.result["package_id"]]


def test_lost_upload_response_is_reconciled(emu, tmp_path):
    src = make_mda(tmp_path / "lost.mda")
    emu.control("POST", "faults", {"rate": 1, "kinds": ["lost_response"], "methods": ["POST"], "path": "/packages$", "count": 1})
    run = run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=src)
    assert run.rc == 0, run
    assert run.result["reconciled"] is True
    assert len(packages_of(emu)) == 1 and len(posts(emu, "/packages")) == 1


@pytest.mark.parametrize("kind", ["acted_502", "acted_503", "acted_504", "acted_429"])
def test_build_done_then_answered_with_an_error_is_found_not_sent_again(emu, tmp_path, kind):
    """The server builds, then a gateway answers 5xx (or 429): the module finds that build's package, sends nothing again
    (after a 502 or 504 by watching the list; after a 503 or 429, taken for a refusal, by looking again after the
    pause, by when this quick build has ended)."""
    emu.control("POST", "faults", {"rate": 1, "kinds": [kind], "methods": ["POST"], "path": "/packages/build$", "count": 1,
                                   "retry_after": 2})
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV3, version="7.0.0", wait_timeout=30)
    assert run.rc == 0, run
    builds = posts(emu, "/packages/build")
    assert [(r["fault"], r["acted_status"], r["status"]) for r in builds] == [(kind, 202, int(kind[-3:]))]
    assert run.result["changed"] is True and run.result["reconciled"] is True
    assert [p["id"] for p in packages_of(emu)] == [run.result["package_id"]]
    assert run.result["model_version"] == f"7.0.0.{REV3[:8]}"


@pytest.mark.parametrize("kind", ["acted_502", "acted_429"])
def test_upload_done_then_answered_with_an_error_is_found_not_sent_again(emu, tmp_path, kind):
    src = make_mda(tmp_path / "acted.mda")
    emu.control("POST", "faults", {"rate": 1, "kinds": [kind], "methods": ["POST"], "path": "/packages$", "count": 1})
    run = run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=src)
    assert run.rc == 0, run
    uploads = posts(emu, "/packages")
    assert [(r["fault"], r["acted_status"]) for r in uploads] == [(kind, 202)]
    assert run.result["reconciled"] is True
    assert [p["id"] for p in packages_of(emu)] == [run.result["package_id"]]


def test_a_post_sent_again_after_an_acted_429_makes_a_second_package(emu):
    """Why a POST is not retried on 429: the API documents no 429, so a 429 (here from a proxy after the API acted)
    does not say the request was left undone. Sending the same build again, as a retry on 429 would, builds twice."""
    emu.control("POST", "faults", {"rate": 1, "kinds": ["acted_429"], "methods": ["POST"], "count": 1})
    body = {"branch": "main", "revision": REV1, "version": "8.0.0"}
    first = _post_build(emu, body)
    second = _post_build(emu, body)
    assert (first, second) == (429, 202)
    emu.control("POST", "jobs/finish")
    assert [p["modelVersion"] for p in packages_of(emu)] == [f"8.0.0.{REV1[:8]}"] * 2


def test_bursts_of_429_on_builds_and_uploads_neither_fail_nor_duplicate(emu, tmp_path):
    """A rate limiter's 429 (RFC 6585) was not carried out: Retry-After is honoured and the request sent again."""
    emu.control("POST", "faults", {"rate": 1, "kinds": ["429"], "methods": ["POST"], "count": 3, "retry_after": 1})
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV3, wait_timeout=30)
    assert run.rc == 0 and run.result["changed"] is True, run
    assert [r["status"] for r in posts(emu, "/packages/build")] == [429, 429, 429, 202]
    assert [p["id"] for p in packages_of(emu)] == [run.result["package_id"]]
    src = make_mda(tmp_path / "limited.mda")
    emu.control("POST", "faults", {"rate": 1, "kinds": ["429"], "methods": ["POST"], "count": 2, "retry_after": 1})
    upload = run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=src)
    assert upload.rc == 0 and [r["status"] for r in posts(emu, "/packages")] == [429, 429, 202], upload
    assert len(packages_of(emu)) == 2


def test_a_retry_after_between_the_cap_and_the_bound_fails_at_once_saying_the_cap(emu, tmp_path):
    emu.control("POST", "faults", {"rate": 1, "kinds": ["429"], "methods": ["POST"], "count": 1, "retry_after": 90})
    started = time.monotonic()
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV3, wait_timeout=600)
    assert run.rc != 0 and time.monotonic() - started < 30, run
    assert "asked to wait 90 seconds (Retry-After), longer than the 60 seconds" in run.stdout
    assert [r["status"] for r in posts(emu, "/packages/build")] == [429] and packages_of(emu) == []


def test_the_limit_of_trusting_429_and_503_a_proxy_that_acted_first_can_make_two(emu, tmp_path):
    """What the refusal rule assumes: a 503 (or 429) means the request was not carried out. A gateway that forwards
    the build and then answers 503 breaks that: when the build is still running after Retry-After, nothing shows it,
    and the request is sent again - two packages of one build. This documents the assumption's limit."""
    emu.control("POST", "settings", {"build_seconds": 8})
    emu.control("POST", "faults", {"rate": 1, "kinds": ["acted_503"], "methods": ["POST"], "path": "/packages/build$",
                                   "count": 1})
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1, version="9.0.0",
                       wait_timeout=60)
    assert run.rc == 0, run
    assert [(r.get("fault"), r["status"]) for r in posts(emu, "/packages/build")] == [("acted_503", 503), (None, 202)], \
        posts(emu, "/packages/build")
    emu.control("POST", "jobs/finish")
    assert [p["modelVersion"] for p in packages_of(emu)] == [f"9.0.0.{REV1[:8]}"] * 2


def test_a_quick_rerun_after_a_lost_answer_and_a_kill_sends_nothing_again(emu, tmp_path):
    """The intent log: the first run is stopped while it watches for the package of a build whose answer was lost (a
    gateway's 502 after the API acted) - as a kill between send and record would leave it. The re-run finds the intent
    and watches instead of sending: one POST in all. The build stays running until the re-run has looked (the
    emulator's clock is the test's, not the machine's speed), then ends."""
    emu.control("POST", "settings", {"build_seconds": 600})
    emu.control("POST", "faults", {"rate": 1, "kinds": ["acted_502"], "methods": ["POST"], "path": "/packages/build$",
                                   "count": 1})
    first = start_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV2, wait_timeout=120)
    try:
        for _attempt in range(600):
            if posts(emu, "/packages/build"):
                break
            time.sleep(0.05)
    finally:
        kill_tree(first.pid)  # the playbook and its module (in a session of its own): nothing after the send is recorded
        first.wait(30)
    assert len(posts(emu, "/packages/build")) == 1
    looked = len(emu.requests())
    rerun = start_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV2, wait_timeout=120)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not [r for r in emu.requests()[looked:]
                                               if r["method"] == "GET" and r["path"].endswith("/packages")]:
        time.sleep(0.05)
    emu.control("POST", "jobs/finish")  # the build ends once the re-run is watching
    result = finish_playbook(rerun)
    assert result["failed"] is False, result
    assert any("An earlier task sent this build request" in w for w in result.get("warnings", [])), result
    assert len(posts(emu, "/packages/build")) == 1
    assert [p["id"] for p in packages_of(emu)] == [result["package_id"]]


def test_two_concurrent_identical_builds_sharing_a_journal_make_one(emu, tmp_path):
    """The controller lock: two tasks at once send one build. Slow answers of the App Repository API (the revision
    check, between looking at the journal and sending) hold each task long enough that, without the lock, both would
    find no job and no intent, and both would send."""
    emu.control("POST", "faults", {"rate": 1, "kinds": ["slow"], "slow_seconds": 3, "path": "/branches/main$", "count": 2})
    runs = [start_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV3, version="5.5.0",
                           wait_timeout=60) for _task in range(2)]
    results = [finish_playbook(run) for run in runs]
    assert all(r["failed"] is False for r in results), results
    assert len(posts(emu, "/packages/build")) == 1
    assert results[0]["package_id"] == results[1]["package_id"] == packages_of(emu)[0]["id"]
    assert len(packages_of(emu)) == 1


def _post_build(emu, body):
    import json  # pylint: disable=import-outside-toplevel
    import urllib.error  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel

    req = urllib.request.Request(f"{emu.url}/apps/{GIT_APP}/packages/build", data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"MxToken {ADMIN}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_twenty_percent_faults_are_ridden_out(emu, tmp_path):
    """Every request may be faulted (429, 503, reset). Reads and polls are retried; a build whose answer is lost fails
    with the documented message and its re-run converges. Each revision ends with exactly one package."""
    emu.control("POST", "faults", {"rate": 0.2, "kinds": ["429", "503", "reset"], "seed": 7})
    outcomes = []
    for rev in (REV1, REV2, REV3):
        for attempt in range(5):
            run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=rev, version="4.0.0",
                               wait_timeout=6, retries=8)
            if run.rc == 0:
                outcomes.append((rev, attempt, run.result["changed"]))
                break
            assert LOST_MESSAGE in run.stdout, run
        else:
            raise AssertionError(f"revision {rev} did not converge in 5 runs")
    emu.control("POST", "faults", {"rate": 0})
    listed = packages_of(emu)
    assert sorted(p["modelVersion"] for p in listed) == sorted(f"4.0.0.{rev[:8]}" for rev in (REV1, REV2, REV3))
    faulted = [r for r in emu.requests() if r["fault"]]
    assert len(faulted) >= 3
    assert len(outcomes) == 3


def test_read_answers_cut_off_midway_are_read_again(emu, tmp_path):
    """A GET whose body breaks off (urllib3 retries only until the headers) is sent again; a POST is not."""
    emu.control("POST", "packages", {"appId": GIT_APP, "count": 120})
    emu.control("DELETE", "requests")
    emu.control("POST", "faults", {"rate": 1, "kinds": ["truncate"], "methods": ["GET"], "path": "/packages$", "count": 2})
    run = run_playbook(emu, "info", tmp_path, app_id=GIT_APP)
    assert run.rc == 0, run
    assert len(run.result["packages"]) == 120
    lists = [r for r in emu.requests() if r["path"].endswith("/packages")]
    assert [r["fault"] for r in lists[:2]] == ["truncate", "truncate"] and lists[0]["query"] == lists[1]["query"]
    emu.control("POST", "faults", {"rate": 1, "kinds": ["truncate"], "methods": ["POST"], "count": 1})
    build = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1, version="6.0.0")
    assert build.rc == 0, build
    assert len(posts(emu, "/packages/build")) == 1 and build.result["reconciled"] is True


def start_playbook(emu, name, tmp_path, **extra_vars):
    """ansible-playbook in the background (the harness's environment and journal); finish_playbook reads its result."""
    result_file = str(tmp_path / f"bg-{name}-{time.monotonic_ns()}.json")
    env = dict(os.environ, MENDIX_PRIVATE_CLOUD_URL=emu.url, MENDIX_REPOSITORY_URL=repository_url(emu), MENDIX_PAT=ADMIN,
               ANSIBLE_NOCOLOR="1", MENDIX_JOB_JOURNAL_DIR=str(tmp_path / "journal"), **RESULT_CALLBACK)
    proc = subprocess.Popen(["ansible-playbook", "-i", "localhost,", "-c", "local", os.path.join(PLAYBOOKS, f"{name}.yml"),
                             "-e", json.dumps(dict(extra_vars, result_file=result_file))], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    proc.result_file = result_file
    return proc


def finish_playbook(proc):
    out, _err = proc.communicate(timeout=300)
    assert ADMIN not in out
    with open(proc.result_file, encoding="utf-8") as handle:
        return json.load(handle)


def kill_tree(pid):
    """SIGKILL a process and every process below it (ansible-playbook runs a module in a session of its own)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    doomed, queue = [], [pid]
    while queue:
        current = queue.pop()
        doomed.append(current)
        queue.extend(children.get(current, []))
    for victim in doomed:
        try:
            os.kill(victim, signal.SIGKILL)
        except OSError:
            pass


def test_six_builds_under_a_fifth_of_answers_refused_or_slow_all_succeed_on_their_first_run(emu, tmp_path):
    """A rate limiter or an overloaded service (429, 503) and slow answers on every kind of request: each of six builds
    succeeds on its first run, with no duplicate."""
    emu.control("POST", "faults", {"rate": 0.2, "kinds": ["429", "503", "slow"], "slow_seconds": 1, "seed": 5,
                                   "retry_after": 1})
    versions = ["6.%d.0" % n for n in range(6)]
    for version in versions:
        run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1, version=version,
                           wait_timeout=60)
        assert run.rc == 0 and run.result["changed"] is True, run
    emu.control("POST", "faults", {"rate": 0})
    assert sorted(p["modelVersion"] for p in packages_of(emu)) == sorted(f"{v}.{REV1[:8]}" for v in versions)
    assert sum(r["fault"] is not None for r in emu.requests()) > 0

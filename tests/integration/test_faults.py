"""Faults: a lost answer to a build or upload is reconciled, never resent blindly; injected faults are ridden out."""

from harness import GIT_APP, REV1, REV2, REV3, make_mda, packages_of, run_playbook

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


def test_unprocessed_build_fails_clearly_and_a_rerun_converges(emu, tmp_path):
    emu.control("POST", "faults", {"rate": 1, "kinds": ["503"], "methods": ["POST"], "path": "/packages/build$", "count": 1})
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV2, wait_timeout=4)
    assert run.rc != 0
    assert LOST_MESSAGE in run.stdout and "re-run" in run.stdout
    assert len(posts(emu, "/packages/build")) == 1
    assert packages_of(emu) == []
    rerun = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV2)
    assert rerun.rc == 0 and rerun.result["changed"] is True
    assert len(packages_of(emu)) == 1


def test_lost_upload_response_is_reconciled(emu, tmp_path):
    src = make_mda(tmp_path / "lost.mda")
    emu.control("POST", "faults", {"rate": 1, "kinds": ["lost_response"], "methods": ["POST"], "path": "/packages$", "count": 1})
    run = run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=src)
    assert run.rc == 0, run
    assert run.result["reconciled"] is True
    assert len(packages_of(emu)) == 1 and len(posts(emu, "/packages")) == 1


def test_post_429_is_retried_after_retry_after(emu, tmp_path):
    emu.control("POST", "faults", {"rate": 1, "kinds": ["429"], "methods": ["POST"], "count": 2})
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV3)
    assert run.rc == 0, run
    builds = posts(emu, "/packages/build")
    assert [r["status"] for r in builds] == [429, 429, 202]
    assert run.result["reconciled"] is False and len(packages_of(emu)) == 1


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

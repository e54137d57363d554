"""Package identity against a real emulator: the cases both identity test files run, each under its own settings.

Collected through `from identity_cases import *` by test_package_identity.py and test_package_identity_adversarial.py, which
set the emulator's behaviour (list order, page size, Location version, naming) with an `emulator_args` fixture.
"""

import os
import threading
import time

from harness import GIT_APP, REV1, REV2, REV3, SVN_APP, make_mda, run_playbook

DIGITS = "2718281828459045235360287471352662497757"  # the demo seed's git commit whose hash is all digits


def build_requests(emu):
    return [r for r in emu.requests() if r["method"] == "POST" and r["path"].endswith("/packages/build")]


def upload_requests(emu):
    return [r for r in emu.requests() if r["method"] == "POST" and r["path"].endswith("/packages")]


def build(emu, tmp_path, **kwargs):
    return run_playbook(emu, "build", tmp_path, **kwargs)


def steps(emu, tmp_path, *options):
    """mx_package once per step (a dict of its options), in order, in one ansible-playbook start: each step is a module
    run of its own, as a re-run is (what persists between them is on disk and on the server). The results, in order."""
    run = run_playbook(emu, "build_steps", tmp_path, steps=list(options))
    assert run.rc == 0 and len(run.result) == len(options), run
    return run.result


def ok(result):
    assert not result.get("failed"), result.get("msg")
    return result


def test_build_rerun_reports_the_same_package(emu, tmp_path):
    nightly = dict(app_id=GIT_APP, branch="main", revision=REV1, version="1.0.1", description="Nightly")
    result, again = (ok(r) for r in steps(emu, tmp_path, nightly, nightly))
    assert result["changed"] is True and result["job"]["status"] == "finished" and result["joined_job"] is False
    assert result["job"]["location"].endswith("/jobs/" + result["job"]["id"])
    assert result["package"]["description"] == ('Nightly [mendix.private_cloud: branch="main" revision="%s" version="1.0.1"]'
                                                % REV1)
    assert again["changed"] is False and again["job"] is None
    assert again["package_id"] == result["package_id"]
    assert len(build_requests(emu)) == 1


def test_svn_branches_at_one_revision_are_two_builds(emu, tmp_path):
    trunk_623 = dict(app_id=SVN_APP, branch="trunk", revision="623", version="1.3.0")
    release_623 = dict(app_id=SVN_APP, branch="release-1.2", revision="623", version="1.3.0")
    results = steps(emu, tmp_path, trunk_623, release_623, trunk_623, release_623)
    trunk, release, trunk_again, release_again = (ok(r) for r in results)
    assert release["changed"] is True and release["package_id"] != trunk["package_id"]
    for run, again in ((trunk, trunk_again), (release, release_again)):
        assert again["changed"] is False and again["package_id"] == run["package_id"], again
    info = run_playbook(emu, "info", tmp_path, app_id=SVN_APP, branch="release-1.2", revision="623", version="1.3.0")
    assert [p["id"] for p in info.result["packages"]] == [release["package_id"]]
    assert len(build_requests(emu)) == 2


def test_a_misspelled_branch_is_not_the_built_commit(emu, tmp_path):
    built, wrong = steps(emu, tmp_path, dict(app_id=GIT_APP, branch="main", revision=REV1),
                         dict(app_id=GIT_APP, branch="mian", revision=REV1))
    ok(built)
    # refused before any write: the App Repository API says the app has no such branch
    assert wrong["failed"] is True and wrong["changed"] is False
    assert "Not built: branch mian: the app's git repository has no such branch" in wrong["msg"], wrong["msg"]
    assert wrong["job"] is None
    assert len(build_requests(emu)) == 1


def test_digits_only_git_hashes_are_found_on_rerun(emu, tmp_path):
    release_2 = dict(app_id=GIT_APP, branch="release-2")
    results = [ok(r) for r in steps(
        emu, tmp_path,
        dict(release_2, revision=DIGITS[:7]),  # short: built
        dict(release_2, revision=DIGITS[:7]),  # again: found
        dict(release_2, revision=DIGITS, vcs="git"),  # the full hash, git said: the same build
        # vcs left at auto: a package of a hex commit in the app's history proves git, so the full digits-only hash
        # is the 7-digit build's commit too
        dict(app_id=GIT_APP, branch="main", revision=REV1),
        dict(release_2, revision=DIGITS),  # auto
        dict(release_2, revision=DIGITS, version="2.0.0"),  # another version: another build
        dict(release_2, revision=DIGITS, version="2.0.0"))]  # its re-run
    short, again, full, dummy, auto, other, rerun = results
    assert [r["changed"] for r in results] == [True, False, False, True, False, True, False], results
    assert again["package_id"] == full["package_id"] == auto["package_id"] == short["package_id"], results
    assert rerun["package_id"] == other["package_id"] != short["package_id"]
    assert len(build_requests(emu)) == 3  # one per changed step: the unchanged ones sent none


def test_an_upload_is_identified_by_its_content(emu, tmp_path):
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    one = make_mda(first_dir / "app.mda", size=5000)
    two = make_mda(second_dir / "app.mda", size=5000)  # same name, same size, other bytes
    assert os.path.getsize(one) == os.path.getsize(two)
    up, again, other = (ok(r) for r in steps(emu, tmp_path, dict(app_id=GIT_APP, src=one), dict(app_id=GIT_APP, src=one),
                                             dict(app_id=GIT_APP, src=two)))
    assert up["changed"] is True and up["package"]["file_name"].startswith("app.sha256-")
    assert again["changed"] is False and again["package_id"] == up["package_id"]
    # no step downloaded a package to compare it: the content tag in the name tells
    assert [r for r in emu.requests() if r["path"].startswith("/_files/") or r["query"].get("url") == "true"] == []
    assert other["changed"] is True and other["package_id"] != up["package_id"]
    assert len(upload_requests(emu)) == 2  # the first and the other file's: the re-run sent none


def test_newest_is_the_latest_created_on(emu, tmp_path):
    built = steps(emu, tmp_path, *(dict(app_id=GIT_APP, branch="main", revision=rev) for rev in (REV1, REV2, REV3)))
    ids = {rev: ok(result)["package_id"] for rev, result in zip((REV1, REV2, REV3), built)}
    found = run_playbook(emu, "lookup_build", tmp_path, app_id=GIT_APP, branch="main", revision=REV2, version="1.0.0")
    assert found.result["newest"]["id"] == ids[REV3]
    assert found.result["build"]["id"] == ids[REV2]
    info = run_playbook(emu, "info", tmp_path, app_id=GIT_APP)
    assert [p["id"] for p in info.result["packages"]] == [ids[REV3], ids[REV2], ids[REV1]]


def test_every_package_is_seen_past_the_first_page(emu, tmp_path):
    built = build(emu, tmp_path, app_id=GIT_APP, branch="main", revision=REV1)
    assert built.rc == 0, built
    emu.control("POST", "packages", {"appId": GIT_APP, "count": 60})
    again = build(emu, tmp_path, app_id=GIT_APP, branch="main", revision=REV1)
    assert again.result["changed"] is False and again.result["package_id"] == built.result["package_id"]
    info = run_playbook(emu, "info", tmp_path, app_id=GIT_APP)
    assert len(info.result["packages"]) == len(set(p["id"] for p in info.result["packages"])) == 61
    assert len(build_requests(emu)) == 1


def test_a_rerun_after_a_wait_timeout_waits_on_the_running_build(emu, tmp_path):
    emu.control("POST", "settings", {"build_seconds": 3600})  # runs until the test ends it
    first = build(emu, tmp_path, app_id=GIT_APP, branch="main", revision=REV2, wait_timeout=1, allow_failure=True)
    assert first.result["failed"] is True and first.result["changed"] is True, first
    job = first.result["job"]
    assert job["id"] and job["status"] in ("created", "running") and job["location"].endswith("/jobs/" + job["id"])
    assert "waits on this job" in first.result["msg"]

    emu.control("DELETE", "requests")
    finisher = threading.Thread(target=finish_once_polled, args=(emu, job["id"]), daemon=True)
    finisher.start()
    step = dict(app_id=GIT_APP, branch="main", revision=REV2)
    again, third = (ok(r) for r in steps(emu, tmp_path, step, step))
    finisher.join(10)
    assert again["changed"] is False and again["joined_job"] is True, (first.result, again)
    assert again["job"]["id"] == job["id"] and again["job"]["status"] == "finished"
    assert again["package_id"] == again["job"]["package_id"]
    assert third["changed"] is False and third["job"] is None
    assert third["package_id"] == again["package_id"]
    assert len(build_requests(emu)) == 0  # the re-runs sent none: the only build request was the first run's


def finish_once_polled(emu, job_id, timeout=60):
    """End the build once the re-run polls its job, that is, once it waits on the job instead of building."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r["path"].endswith("/jobs/" + job_id) for r in emu.requests()):
            emu.control("POST", "jobs/finish")
            return
        time.sleep(0.1)

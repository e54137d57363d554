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


def test_build_rerun_reports_the_same_package(emu, tmp_path):
    first = build(emu, tmp_path, app_id=GIT_APP, branch="main", revision=REV1, version="1.0.1", description="Nightly")
    assert first.rc == 0, first
    result = first.result
    assert result["changed"] is True and result["job"]["status"] == "finished" and result["joined_job"] is False
    assert result["job"]["location"].endswith("/jobs/" + result["job"]["id"])
    assert result["package"]["description"] == ('Nightly [mendix.private_cloud: branch="main" revision="%s" version="1.0.1"]'
                                                % REV1)
    again = build(emu, tmp_path, app_id=GIT_APP, branch="main", revision=REV1, version="1.0.1", description="Nightly")
    assert again.rc == 0, again
    assert again.result["changed"] is False and again.result["job"] is None
    assert again.result["package_id"] == result["package_id"]
    assert len(build_requests(emu)) == 1


def test_svn_branches_at_one_revision_are_two_builds(emu, tmp_path):
    trunk = build(emu, tmp_path, app_id=SVN_APP, branch="trunk", revision="623", version="1.3.0")
    release = build(emu, tmp_path, app_id=SVN_APP, branch="release-1.2", revision="623", version="1.3.0")
    assert trunk.rc == 0 and release.rc == 0, (trunk, release)
    assert release.result["changed"] is True and release.result["package_id"] != trunk.result["package_id"]
    for branch, run in (("trunk", trunk), ("release-1.2", release)):
        again = build(emu, tmp_path, app_id=SVN_APP, branch=branch, revision="623", version="1.3.0")
        assert again.rc == 0 and again.result["changed"] is False, again
        assert again.result["package_id"] == run.result["package_id"]
    info = run_playbook(emu, "info", tmp_path, app_id=SVN_APP, branch="release-1.2", revision="623", version="1.3.0")
    assert [p["id"] for p in info.result["packages"]] == [release.result["package_id"]]
    assert len(build_requests(emu)) == 2


def test_a_misspelled_branch_is_not_the_built_commit(emu, tmp_path):
    assert build(emu, tmp_path, app_id=GIT_APP, branch="main", revision=REV1).rc == 0
    wrong = build(emu, tmp_path, app_id=GIT_APP, branch="mian", revision=REV1, allow_failure=True)
    # refused before any write: the App Repository API says the app has no such branch
    assert wrong.result["failed"] is True and wrong.result["changed"] is False
    assert "Not built: branch mian: the app's git repository has no such branch" in wrong.result["msg"], wrong.result["msg"]
    assert wrong.result["job"] is None
    assert len(build_requests(emu)) == 1


def test_digits_only_git_hashes_are_found_on_rerun(emu, tmp_path):
    short = build(emu, tmp_path, app_id=GIT_APP, branch="release-2", revision=DIGITS[:7])
    assert short.rc == 0 and short.result["changed"] is True, short
    again = build(emu, tmp_path, app_id=GIT_APP, branch="release-2", revision=DIGITS[:7])
    assert again.result["changed"] is False and again.result["package_id"] == short.result["package_id"]
    full = build(emu, tmp_path, app_id=GIT_APP, branch="release-2", revision=DIGITS, vcs="git")
    assert full.result["changed"] is False and full.result["package_id"] == short.result["package_id"]
    assert len(build_requests(emu)) == 1

    # vcs left at auto: a package of a hex commit in the app's history proves git, so the full digits-only hash is
    # the 7-digit build's commit too
    assert build(emu, tmp_path, app_id=GIT_APP, branch="main", revision=REV1).result["changed"] is True
    auto = build(emu, tmp_path, app_id=GIT_APP, branch="release-2", revision=DIGITS)
    assert auto.result["changed"] is False and auto.result["package_id"] == short.result["package_id"], auto.result
    assert len(build_requests(emu)) == 2

    other = build(emu, tmp_path, app_id=GIT_APP, branch="release-2", revision=DIGITS, version="2.0.0")
    assert other.result["changed"] is True
    rerun = build(emu, tmp_path, app_id=GIT_APP, branch="release-2", revision=DIGITS, version="2.0.0")
    assert rerun.result["changed"] is False and rerun.result["package_id"] == other.result["package_id"]
    assert len(build_requests(emu)) == 3


def test_an_upload_is_identified_by_its_content(emu, tmp_path):
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    one = make_mda(first_dir / "app.mda", size=5000)
    two = make_mda(second_dir / "app.mda", size=5000)  # same name, same size, other bytes
    assert os.path.getsize(one) == os.path.getsize(two)
    up = run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=one)
    assert up.rc == 0 and up.result["changed"] is True, up
    assert up.result["package"]["file_name"].startswith("app.sha256-")
    emu.control("DELETE", "requests")
    again = run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=one)
    assert again.result["changed"] is False and again.result["package_id"] == up.result["package_id"]
    assert [r for r in emu.requests() if r["path"].startswith("/_files/") or r["query"].get("url") == "true"] == []
    other = run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=two)
    assert other.result["changed"] is True and other.result["package_id"] != up.result["package_id"]
    assert len(upload_requests(emu)) == 1


def test_newest_is_the_latest_created_on(emu, tmp_path):
    ids = {}
    for rev in (REV1, REV2, REV3):
        run = build(emu, tmp_path, app_id=GIT_APP, branch="main", revision=rev)
        assert run.rc == 0, run
        ids[rev] = run.result["package_id"]
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
    again = build(emu, tmp_path, app_id=GIT_APP, branch="main", revision=REV2)
    finisher.join(10)
    assert again.rc == 0, again
    assert again.result["changed"] is False and again.result["joined_job"] is True, (first.result, again.result)
    assert again.result["job"]["id"] == job["id"] and again.result["job"]["status"] == "finished"
    assert again.result["package_id"] == again.result["job"]["package_id"]
    third = build(emu, tmp_path, app_id=GIT_APP, branch="main", revision=REV2)
    assert third.result["changed"] is False and third.result["job"] is None
    assert third.result["package_id"] == again.result["package_id"]
    assert len(build_requests(emu)) == 0  # the re-runs sent none: the only build request was the first run's


def finish_once_polled(emu, job_id, timeout=60):
    """End the build once the re-run polls its job, that is, once it waits on the job instead of building."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r["path"].endswith("/jobs/" + job_id) for r in emu.requests()):
            emu.control("POST", "jobs/finish")
            return
        time.sleep(0.1)

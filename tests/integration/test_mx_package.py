"""mx_package, mx_package_info and mx_job_wait through real playbooks against the emulator."""

import os
import shutil

import pytest

from harness import (
    FAILING, GIT_APP, NO_MODELREPO, PLAYBOOKS, READONLY, REV1, REV2, REV3, SVN_APP, digest_name, make_mda, packages_of,
    run_playbook, write_requests,
)


def test_build_wait_info_then_rerun_is_unchanged(emu, tmp_path):
    first = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1, version="1.0.1", description="d")
    assert first.rc == 0, first
    assert first.result["changed"] is True
    pkg = first.result["package"]
    assert pkg["model_version"] == "1.0.1.6f995268" and pkg["file_name"] == "main-1.0.1.6f995268.mda"
    assert first.result["package_id"] == pkg["id"] == first.result["job"]["package_id"]
    assert first.result["job"]["status"] == "finished" and first.result["job"]["polls"] >= 1
    assert set(pkg) >= {"id", "app_id", "model_version", "runtime_version", "created_on", "file_name", "file_size"}

    again = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1, version="1.0.1")
    assert again.rc == 0, again
    assert again.result["changed"] is False and again.result["package_id"] == pkg["id"]
    assert again.result["job"] is None
    assert len(packages_of(emu)) == 1

    info = run_playbook(emu, "info", tmp_path, app_id=GIT_APP, package_id=pkg["id"], download_url=True, build_log=True)
    assert info.rc == 0, info
    got = info.result["packages"][0]
    assert got["id"] == pkg["id"] and got["url"]["ttl"] == 900 and "Pipeline created at" in got["build_log"]
    assert info.result["changed"] is False


def test_short_hash_finds_the_build_and_no_version_means_1_0_0(emu, tmp_path):
    assert run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1, version="2.0.0").rc == 0
    again = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1[:10], version="2.0.0")
    assert again.rc == 0 and again.result["changed"] is False
    default = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1)
    assert default.rc == 0 and default.result["changed"] is True
    assert default.result["model_version"] == "1.0.0.6f995268"
    forced = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1, version="2.0.0", force=True)
    assert forced.rc == 0 and forced.result["changed"] is True
    assert len(packages_of(emu)) == 3


def test_check_mode_makes_no_write_call_and_predicts_changed(emu, tmp_path):
    check = run_playbook(emu, "build", tmp_path, check=True, app_id=GIT_APP, branch="main", revision=REV2, version="1.0.0")
    assert check.rc == 0, check
    assert check.result["changed"] is True and check.result["job"] is None
    assert check.result["model_version"] == "1.0.0.93de884c"  # what the API will produce: 8 characters of the hash
    assert write_requests(emu) == []
    assert packages_of(emu) == []
    run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV2, version="1.0.0")
    emu.control("DELETE", "requests")
    check = run_playbook(emu, "build", tmp_path, check=True, app_id=GIT_APP, branch="main", revision=REV2, version="1.0.0")
    assert check.result["changed"] is False
    pkg_id = check.result["package_id"]
    check = run_playbook(emu, "delete", tmp_path, check=True, app_id=GIT_APP, package_id=pkg_id)
    assert check.rc == 0 and check.result["changed"] is True
    assert write_requests(emu) == []
    assert len(packages_of(emu)) == 1


def test_diff_shows_before_and_after(emu, tmp_path):
    run = run_playbook(emu, "build", tmp_path, diff=True, app_id=GIT_APP, branch="main", revision=REV3, version="3.0.0")
    assert run.rc == 0, run
    assert run.result["diff"]["before"] == {}
    assert run.result["diff"]["after"]["model_version"] == "3.0.0.1c2d3e4f"
    assert '\n+    "model_version": "3.0.0.1c2d3e4f",\n' in run.stdout  # the diff Ansible prints, line for line
    pkg_id = run.result["package_id"]
    gone = run_playbook(emu, "delete", tmp_path, diff=True, app_id=GIT_APP, package_id=pkg_id)
    assert gone.result["diff"]["before"]["id"] == pkg_id and gone.result["diff"]["after"] == {}


def test_upload_and_idempotent_reupload(emu, tmp_path):
    src = make_mda(tmp_path / "my-app_2.2.1.mda", size=300_000)
    first = run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=src)
    assert first.rc == 0, first
    assert first.result["changed"] is True
    pkg = first.result["package"]
    assert pkg["file_name"] == digest_name(src) and pkg["file_size"] == os.path.getsize(src)
    again = run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=src)
    assert again.rc == 0 and again.result["changed"] is False and again.result["package_id"] == pkg["id"]
    renamed = run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=src, file_name="renamed")
    assert renamed.result["changed"] is True and renamed.result["package"]["file_name"] == digest_name(src, "renamed")
    same = run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=src, file_name="renamed.mda")
    assert same.result["changed"] is False
    assert len(packages_of(emu)) == 2


def test_upload_src_found_in_playbook_files_folder(emu, tmp_path):
    book = tmp_path / "book"
    (book / "files").mkdir(parents=True)
    shutil.copy(os.path.join(PLAYBOOKS, "upload.yml"), book / "upload.yml")
    make_mda(book / "files" / "relative.mda")
    run = run_playbook(emu, "upload", tmp_path, playbook_dir=str(book), app_id=GIT_APP, src="relative.mda")
    assert run.rc == 0, run
    assert run.result["package"]["file_name"] == digest_name(book / "files" / "relative.mda")


def test_delete_twice(emu, tmp_path):
    built = run_playbook(emu, "build", tmp_path, app_id=SVN_APP, branch="trunk", revision="623", version="1.3.0")
    assert built.result["package"]["file_name"] == "MainLine-1.3.0.623.mda"
    pkg_id = built.result["package_id"]
    first = run_playbook(emu, "delete", tmp_path, app_id=SVN_APP, package_id=pkg_id)
    assert first.rc == 0 and first.result["changed"] is True and first.result["job"]["status"] == "finished"
    assert packages_of(emu, SVN_APP) == []
    second = run_playbook(emu, "delete", tmp_path, app_id=SVN_APP, package_id=pkg_id)
    assert second.rc == 0 and second.result["changed"] is False


def test_wrong_scope_message_names_the_scope(emu, tmp_path):
    run = run_playbook(emu, "build", tmp_path, token=NO_MODELREPO, app_id=GIT_APP, branch="main", revision=REV1)
    assert run.rc != 0
    assert "HTTP 403" in run.stdout and "mx:modelrepository:write" in run.stdout
    ro = run_playbook(emu, "delete", tmp_path, token=READONLY, app_id=GIT_APP, package_id="00000000-0000-4000-8000-000000000000")
    assert ro.rc == 0 and ro.result["changed"] is False
    assert packages_of(emu) == []


def test_wait_false_then_job_wait_by_id_and_location(emu, tmp_path):
    run = run_playbook(emu, "build_then_wait", tmp_path, app_id=GIT_APP, branch="main", revision=REV2)
    assert run.rc == 0, run
    assert run.result["by_id"]["package_id"] in [p["id"] for p in packages_of(emu)]


def test_failing_revision_surfaces_its_log(emu, tmp_path):
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="feature/login-page", revision=FAILING)
    assert run.rc != 0
    assert "Build failed" in run.stdout and "CE1613" in run.stdout and "mxbuild exited with code 1" in run.stdout
    started = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="feature/login-page", revision=FAILING, wait=False,
                           force=True)
    waited = run_playbook(emu, "job_wait", tmp_path, job_id=started.result["job"]["id"], fail_on_failure=False)
    assert waited.rc == 0 and waited.result["status"] == "failed" and "CE1613" in waited.result["log_tail"]


def test_svn_main_line_quirk_suggests_trunk(emu, tmp_path):
    run = run_playbook(emu, "build", tmp_path, app_id=SVN_APP, branch="Main line", revision="623")
    assert run.rc != 0 and "trunk" in run.stdout


def test_info_lists_every_page_and_filters(emu, tmp_path):
    names = []
    for i in range(3):
        src = make_mda(tmp_path / f"pkg{i}.mda", size=100)
        assert run_playbook(emu, "upload", tmp_path, app_id=GIT_APP, src=src).rc == 0
        names.append(digest_name(src))
    run = run_playbook(emu, "info", tmp_path, app_id=GIT_APP)
    assert [p["file_name"] for p in run.result["packages"]] == names[::-1]
    only = run_playbook(emu, "info", tmp_path, app_id=GIT_APP, file_name=names[1][:-4])
    assert [p["file_name"] for p in only.result["packages"]] == [names[1]]
    missing = run_playbook(emu, "info", tmp_path, app_id=GIT_APP, package_id="00000000-0000-4000-8000-000000000000")
    assert missing.rc == 0 and missing.result["packages"] == []


def test_the_documented_wait_pattern_works_on_every_run(emu, tmp_path):
    first = run_playbook(emu, "start_then_wait", tmp_path, app_id=GIT_APP, branch="main", revision=REV3)
    assert first.rc == 0, first
    assert first.result["started"]["job"]["id"] and first.result["waited"]["status"] == "finished"
    again = run_playbook(emu, "start_then_wait", tmp_path, app_id=GIT_APP, branch="main", revision=REV3)
    assert again.rc == 0, again
    assert again.result["started"]["changed"] is False and again.result["started"]["job"] is None
    assert again.result["waited"]["skipped"] is True
    assert again.result["started"]["package_id"] == first.result["waited"]["package_id"]


def test_a_failed_build_reports_changed_and_the_flat_job(emu, tmp_path):
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="feature/login-page", revision=FAILING,
                       allow_failure=True)
    assert run.result["failed"] is True and run.result["changed"] is True
    job = run.result["job"]
    assert set(job) == {"id", "status", "details", "location", "package_id", "error", "elapsed", "polls", "log_tail"}
    assert job["status"] == "failed" and job["location"].endswith("/jobs/" + job["id"]) and "CE1613" in job["log_tail"]


@pytest.mark.parametrize("emulator_args", [["--failed-job-status", "created"]], indirect=True)
def test_the_specs_job_example_status_created_with_an_error_is_a_failure(emu, tmp_path):
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="feature/login-page", revision=FAILING,
                       allow_failure=True)
    assert run.result["failed"] is True and run.result["changed"] is True
    assert run.result["job"]["status"] == "failed" and run.result["job"]["error"]["message"].startswith("Build failed")
    assert "Build failed" in run.result["msg"] and "CE1613" in run.result["job"]["log_tail"]
    jobs = emu.control("GET", "jobs")
    assert [j["status"] for j in jobs] == ["created"] and jobs[0]["error"]  # as the emulator answered it

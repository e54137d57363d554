"""The mx_package lookup plugin against the emulator."""

from harness import GIT_APP, REV1, REV2, run_playbook


def test_lookup_latest_and_filtered(emu, tmp_path):
    old = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1, version="1.2.0")
    new = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV2, version="1.3.0")
    run = run_playbook(emu, "lookup", tmp_path, app_id=GIT_APP, prefix="1.2.")
    assert run.rc == 0, run
    assert run.result["latest"]["id"] == new.result["package_id"]
    assert run.result["filtered"]["id"] == old.result["package_id"]
    assert run.result["filtered"]["model_version"] == "1.2.0.6f995268"
    assert run.result["none"] == {}


def test_lookup_errors_are_clear(emu, tmp_path):
    run = run_playbook(emu, "lookup", tmp_path, app_id="not-a-uuid", prefix="1.")
    assert run.rc != 0 and "app_id must be a UUID" in run.stdout
    run = run_playbook(emu, "lookup", tmp_path, app_id=GIT_APP, prefix="1.")
    assert run.rc != 0 and "has no package matching the filters" in run.stdout
    run = run_playbook(emu, "lookup", tmp_path, token=None, app_id=GIT_APP, prefix="1.")
    assert run.rc != 0 and "token is required" in run.stdout

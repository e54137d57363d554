"""The mx_package lookup plugin against the emulator."""

import subprocess

from harness import ADMIN, GIT_APP, REV1, REV2, run_playbook


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


def test_lookup_renders_templated_and_vaulted_tokens(emu, tmp_path):
    built = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1)
    password = tmp_path / "vault-password"
    password.write_text("correct horse battery staple\n")
    encrypted = subprocess.run(["ansible-vault", "encrypt_string", "--vault-password-file", str(password), ADMIN,
                                "--name", "vault_token"], capture_output=True, text=True, check=True).stdout
    vault_file = tmp_path / "vault.yml"
    vault_file.write_text(encrypted)
    run = run_playbook(emu, "lookup_vaulted", tmp_path, token=None, app_id=GIT_APP, vault_file=str(vault_file),
                       extra_args=["--vault-password-file", str(password)])
    assert run.rc == 0, run
    assert run.result["templated"]["id"] == run.result["vaulted_var"]["id"] == run.result["mendix_pat"]["id"]
    assert run.result["mendix_pat"]["id"] == built.result["package_id"]

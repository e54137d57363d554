"""mx_deployment and the build_and_deploy role through real playbooks; the molecule scenario through its harness."""

import json
import os
import re
import subprocess
import urllib.request

from harness import ADMIN, GIT_APP, NAMESPACE, READONLY, REV1, REV2, SVN_APP, digest_name, make_mda, packages_of, run_playbook, write_requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {"app_id": GIT_APP, "namespace_id": NAMESPACE, "environment_id": "gitdemo"}


def manifest(emu, env="gitdemo", app=GIT_APP):
    req = urllib.request.Request(f"{emu.url}/apps/{app}/namespaces/{NAMESPACE}/environments/{env}",
                                 headers={"Authorization": f"MxToken {ADMIN}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["environment"]


def build(emu, tmp_path, revision=REV1, app=GIT_APP, branch="main"):
    run = run_playbook(emu, "build", tmp_path, app_id=app, branch=branch, revision=revision)
    assert run.rc == 0, run
    return run.result["package_id"]


def test_deploy_then_rerun_is_unchanged(emu, tmp_path):
    pkg = build(emu, tmp_path)
    run = run_playbook(emu, "deploy", tmp_path, diff=True, package_id=pkg, vars_=ENV)
    assert run.rc == 0, run
    assert run.result["changed"] is True and run.result["previous_package_id"] == ""
    assert run.result["environment"]["package_id"] == pkg and run.result["jobs"][0]["status"] == "finished"
    assert run.result["diff"] == {"before": {"package_id": ""}, "after": {"package_id": pkg}}
    assert manifest(emu)["deployment"]["packageId"] == pkg
    again = run_playbook(emu, "deploy", tmp_path, package_id=pkg, vars_=ENV)
    assert again.rc == 0 and again.result["changed"] is False


def test_deploy_round_trips_the_whole_manifest(emu, tmp_path):
    before = manifest(emu)
    pkg = build(emu, tmp_path)
    assert run_playbook(emu, "deploy", tmp_path, package_id=pkg, vars_=ENV).rc == 0
    after = manifest(emu)
    before["deployment"]["packageId"] = pkg
    assert after == before


def test_check_mode_makes_no_write_call(emu, tmp_path):
    pkg = build(emu, tmp_path)
    emu.control("DELETE", "requests")
    run = run_playbook(emu, "deploy", tmp_path, check=True, package_id=pkg, vars_=ENV)
    assert run.rc == 0 and run.result["changed"] is True
    assert write_requests(emu) == []
    assert manifest(emu)["deployment"]["packageId"] == ""


def test_restart_cycles_instances_and_waits_each_step(emu, tmp_path):
    pkg = build(emu, tmp_path, app=SVN_APP, branch="trunk", revision="623")
    env = dict(ENV, app_id=SVN_APP, environment_id="svndemo")
    run = run_playbook(emu, "deploy", tmp_path, package_id=pkg, restart=True, vars_=env)
    assert run.rc == 0, run
    assert len(run.result["jobs"]) == 3 and all(j["status"] == "finished" for j in run.result["jobs"])
    puts = [r for r in emu.requests() if r["method"] == "PUT"]
    assert len(puts) == 3
    after = manifest(emu, "svndemo", SVN_APP)
    assert after["container"]["instances"] == 2 and after["deployment"]["packageId"] == pkg


def test_errors_name_the_field(emu, tmp_path):
    pkg = build(emu, tmp_path)
    unknown = run_playbook(emu, "deploy", tmp_path, package_id=pkg, vars_=dict(ENV, environment_id="nope"))
    assert unknown.rc != 0 and "environment_id=nope" in unknown.stdout and "not found" in unknown.stdout
    other = build(emu, tmp_path, app=SVN_APP, branch="trunk", revision="623")
    wrong = run_playbook(emu, "deploy", tmp_path, package_id=other, vars_=ENV)
    assert wrong.rc != 0 and "package_id" in wrong.stdout and other in wrong.stdout
    ro = run_playbook(emu, "deploy", tmp_path, token=READONLY, package_id=pkg, vars_=ENV)
    assert ro.rc != 0 and "mx:deployment:write" in ro.stdout
    bad = run_playbook(emu, "deploy", tmp_path, package_id="not-a-uuid", vars_=ENV)
    assert bad.rc != 0 and "package_id must be" in bad.stdout
    # a null package_id (a build not finished) is named as such, not taken for a promotion from nowhere (ansible-core
    # before 2.19 templates it to an empty string, which the UUID check names)
    null = run_playbook(emu, "deploy", tmp_path, package_id=None, vars_=ENV)
    assert null.rc != 0 and ("package_id is null" in null.stdout or "package_id must be" in null.stdout), null.stdout
    assert "source_environment_id=None" not in null.stdout
    assert manifest(emu)["deployment"]["packageId"] == ""


def test_role_builds_hands_off_downloads_and_deploys(emu, tmp_path):
    dest = str(tmp_path / "dl.mda")
    role_vars = dict(app_id=GIT_APP, branch="main", revision=REV2, version="5.0.0", namespace_id=NAMESPACE,
                     environment_id="gitdemo", download_dest=dest)
    run = run_playbook(emu, "role", tmp_path, role_vars=role_vars)
    assert run.rc == 0, run
    pkg = run.result["package"]
    assert pkg["model_version"] == "5.0.0.93de884c" and "url" not in pkg
    assert os.path.getsize(dest) == pkg["file_size"]
    assert manifest(emu)["deployment"]["packageId"] == run.result["package_id"]
    again = run_playbook(emu, "role", tmp_path, role_vars=role_vars)
    assert again.rc == 0
    changed_tasks = [t.split("]")[0] for t in again.stdout.split("TASK [")[1:] if "\nchanged: " in t]
    assert changed_tasks == []
    assert len(packages_of(emu)) == 1


def ansible_core():
    """The version of the ansible-playbook on PATH (the matrix runs these tests with older ones)."""
    out = subprocess.run(["ansible-playbook", "--version"], capture_output=True, text=True, check=True).stdout
    return tuple(int(x) for x in re.search(r"core (\d+)\.(\d+)", out).groups())


def test_role_in_check_mode_writes_nothing_and_leaves_null_facts(emu, tmp_path):
    dest = tmp_path / "never.mda"
    role_vars = dict(app_id=GIT_APP, branch="main", revision=REV2, version="5.0.1", namespace_id=NAMESPACE,
                     environment_id="gitdemo", download_dest=str(dest))
    run = run_playbook(emu, "role", tmp_path, check=True, role_vars=role_vars)
    assert run.rc == 0, run
    # null; ansible-core before 2.19 cannot template a null into a fact, and gives an empty string
    empty = None if ansible_core() >= (2, 19) else ""
    assert run.result == {"package": empty, "package_id": empty, "model_version": "5.0.1.93de884c", "revision_built": REV2}
    assert write_requests(emu) == [] and packages_of(emu) == [] and not dest.exists()
    assert "changed: [localhost]" in run.stdout.split("TASK [mendix.private_cloud.build_and_deploy : Build or upload")[1]


def test_role_uploads(emu, tmp_path):
    src = make_mda(tmp_path / "role-upload.mda")
    run = run_playbook(emu, "role", tmp_path, role_vars={"app_id": GIT_APP, "src": src})
    assert run.rc == 0, run
    assert run.result["package"]["file_name"] == digest_name(src)


def test_role_rejects_build_and_upload_at_once_before_any_call(emu, tmp_path):
    src = make_mda(tmp_path / "x.mda")
    run = run_playbook(emu, "role", tmp_path, role_vars={"app_id": GIT_APP, "src": src, "branch": "main", "revision": REV1})
    assert run.rc != 0 and "not both" in run.stdout
    missing = run_playbook(emu, "role", tmp_path, role_vars={"app_id": GIT_APP})
    assert missing.rc != 0 and "build_and_deploy_branch" in missing.stdout
    assert emu.requests() == []


def test_role_argument_spec_rejects_wrong_types(emu, tmp_path):
    run = run_playbook(emu, "role", tmp_path, role_vars={"app_id": GIT_APP, "branch": "main", "revision": REV1,
                                                         "restart": "maybe"})
    assert run.rc != 0 and "build_and_deploy_restart" in run.stdout
    assert emu.requests() == []


def run_molecule(emulator, scenario):
    """`molecule test -s <scenario>` against a reset emulator, the way a user's CI runs it; returns its output."""
    emulator.control("POST", "reset")
    env = dict(os.environ, MENDIX_PRIVATE_CLOUD_URL=emulator.url, MENDIX_PAT=ADMIN, MXPC_EMULATOR_ROOT=emulator.root,
               MENDIX_REPOSITORY_URL=emulator.root + "/v1",
               ANSIBLE_FORCE_COLOR="0", NO_COLOR="1", MOLECULE_NO_LOG="false")
    proc = subprocess.run(["molecule", "test", "-s", scenario], cwd=os.path.join(ROOT, "extensions"), env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_molecule_scenario(emulator):
    assert "idempotence" in run_molecule(emulator, "default")
    assert len(packages_of(emulator)) == 1


def test_molecule_rollback_scenario(emulator):
    """A deploy of a package whose app fails to start, rolled back by the role (its verify checks the environment)."""
    assert "Record the failure" in run_molecule(emulator, "rollback")
    # the good deploy, the failing one, and its rollback
    assert len([r for r in write_requests(emulator) if r["method"] == "PUT"]) == 3

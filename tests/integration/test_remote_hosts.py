"""API modules run on the controller, from plays over real remote hosts.

The remote host is sshd on 127.0.0.1 (remote_host.py), reached as an unprivileged user whose environment has no
MENDIX_PAT and whose Python has no requests: what a server or cluster node of a real inventory looks like.
"""

import json
import os
import shutil

import ansible_runner
import pytest

from harness import ADMIN, GIT_APP, NAMESPACE, PLAYBOOKS, REV1, SVN_APP, make_mda, packages_of, run_playbook
from remote_host import USER, RemoteHost

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVERS = {
    "web1": {"app_id": GIT_APP, "branch": "main", "revision": REV1, "namespace_id": NAMESPACE, "environment_id": "gitdemo"},
    "web2": {"app_id": GIT_APP, "branch": "main", "revision": REV1, "namespace_id": NAMESPACE, "environment_id": "gitdemo"},
    "web3": {"app_id": SVN_APP, "branch": "trunk", "revision": "623", "namespace_id": NAMESPACE, "environment_id": "svndemo"},
}


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    with RemoteHost(tmp_path_factory.mktemp("sshd")) as host:
        yield host


def writes(emu, method, suffix):
    return [r for r in emu.requests() if r["method"] == method and r["path"].endswith(suffix)]


def recap(stdout):
    return {line.split()[0]: line for line in stdout.split("PLAY RECAP")[1].splitlines() if ":" in line}


def test_the_remote_host_is_what_a_server_looks_like(remote):
    import subprocess  # pylint: disable=import-outside-toplevel

    probe = subprocess.run(remote.ssh_command(f"id -un; env; {remote.python} -c 'import requests'"), capture_output=True,
                           text=True, check=False)
    assert probe.stdout.splitlines()[0] == USER
    assert "MENDIX_PAT" not in probe.stdout and "No module named 'requests'" in probe.stderr


def test_role_over_three_servers_builds_and_deploys_each_distinct_thing_once(emu, remote, tmp_path):
    inventory = remote.inventory(tmp_path / "hosts.ini", SERVERS)
    results = tmp_path / "handoff"
    results.mkdir()
    first = run_playbook(emu, "remote_role", tmp_path, inventory=inventory, result_dir=str(results),
                         extra_args=["--forks", "3"])
    assert first.rc == 0, first.stdout[-6000:]
    assert len(writes(emu, "POST", "/packages/build")) == 2
    assert len(writes(emu, "PUT", "/environments/gitdemo")) == 1 and len(writes(emu, "PUT", "/environments/svndemo")) == 1
    handoff = {name: json.loads((results / f"{name}.json").read_text()) for name in SERVERS}
    assert all(h["user"] == USER for h in handoff.values())
    assert handoff["web1"]["package_id"] == handoff["web2"]["package_id"] != handoff["web3"]["package_id"]
    assert handoff["web3"]["model_version"] == "1.0.0.623"
    assert [p["id"] for p in packages_of(emu, GIT_APP)] == [handoff["web1"]["package_id"]]
    assert [p["id"] for p in packages_of(emu, SVN_APP)] == [handoff["web3"]["package_id"]]

    emu.control("DELETE", "requests")
    again = run_playbook(emu, "remote_role", tmp_path, inventory=inventory, result_dir=str(results),
                         extra_args=["--forks", "3"])
    assert again.rc == 0, again
    assert all("changed=0" in line for line in recap(again.stdout).values()), recap(again.stdout)
    assert [r for r in emu.requests() if r["method"] != "GET"] == []


def test_upload_with_src_in_a_task_that_targets_a_server(emu, remote, tmp_path):
    book = tmp_path / "book"
    (book / "files").mkdir(parents=True)
    shutil.copy(os.path.join(PLAYBOOKS, "upload_from_server.yml"), book / "upload_from_server.yml")
    make_mda(book / "files" / "app.mda")
    inventory = remote.inventory(tmp_path / "hosts.ini", {"web1": {}})
    runs = [run_playbook(emu, "upload_from_server", tmp_path, playbook_dir=str(book), inventory=inventory, app_id=GIT_APP)
            for _attempt in range(2)]
    assert runs[0].rc == 0 and runs[0].result["changed"] is True, runs[0]
    assert runs[1].rc == 0 and runs[1].result["changed"] is False, runs[1]
    assert runs[1].result["package_id"] == runs[0].result["package_id"]
    assert len(writes(emu, "POST", "/packages")) == 1


def test_a_module_run_on_a_server_says_where_to_run_it(emu, remote, tmp_path):
    inventory = remote.inventory(tmp_path / "hosts.ini", {"web1": {}})
    run = run_playbook(emu, "remote_module", tmp_path, inventory=inventory, app_id=GIT_APP)
    assert run.rc == 0, run
    assert run.result["failed"] is True
    assert "requests" in run.result["msg"] and "delegate_to: localhost" in run.result["msg"]
    assert emu.requests() == []


def test_ansible_runner_job_over_a_server_gets_the_credential(emu, remote, tmp_path):
    private = tmp_path / "job"
    (private / "project").mkdir(parents=True)
    (private / "inventory").mkdir()
    shutil.copy(os.path.join(PLAYBOOKS, "remote_role.yml"), private / "project" / "remote_role.yml")
    remote.inventory(private / "inventory" / "hosts.ini", {"web1": SERVERS["web1"]})
    results = tmp_path / "handoff"
    results.mkdir()
    # What the "Mendix for Private Cloud" credential type injects (docs/examples/awx/credential_type.yml): the job's
    # environment on the controller, which the server never sees.
    envvars = {"MENDIX_PAT": ADMIN, "MENDIX_PRIVATE_CLOUD_URL": emu.url, "MENDIX_JOB_JOURNAL_DIR": str(tmp_path / "journal"),
               "MENDIX_REPOSITORY_URL": emu.root + "/v1",
               "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"]}
    result = ansible_runner.run(private_data_dir=str(private), playbook="remote_role.yml", envvars=envvars, quiet=True,
                                extravars={"result_dir": str(results)})
    assert result.status == "successful" and result.rc == 0, result.stdout.read()
    stats = [e for e in result.events if e["event"] == "playbook_on_stats"]
    listed = packages_of(emu, GIT_APP)
    assert stats[-1]["event_data"]["artifact_data"]["mendix_package_id"] == listed[0]["id"] and len(listed) == 1
    assert json.loads((results / "web1.json").read_text())["user"] == USER

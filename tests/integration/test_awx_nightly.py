"""The AWX examples (docs/examples/awx), each job template run by ansible-runner the way AWX runs it, twice: the nightly
workflow (build the head of main -> deploy to test -> prune to the newest 10) over two app servers, and the
provisioning of the app's environments."""

import hashlib
import json
import os
import shutil
import urllib.request

import ansible_runner

from harness import ADMIN, GIT_APP, NAMESPACE, packages_of, repository_url, write_requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "docs", "examples", "awx")
HEAD = "e4b1d2c3a4f5e6d7c8b9a0f1e2d3c4b5a6978899"  # the seed's head of main


def job(emu, tmp_path, playbook, extra_vars, secrets=None):
    """One job of a job template: the credential's environment injected (with ``secrets``, more variables a credential
    injects, none of which may appear in the job's output), the workflow's extra vars given."""
    private = tmp_path / f"job-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(EXAMPLES, private / "project")
    python = os.environ["ANSIBLE_PYTHON_INTERPRETER"]
    inventory = ("[app_servers]\n"
                 f"server1 ansible_connection=local ansible_python_interpreter={python}\n"
                 f"server2 ansible_connection=local ansible_python_interpreter={python}\n")
    envvars = {"MENDIX_PAT": ADMIN, "MENDIX_PRIVATE_CLOUD_URL": emu.url, "MENDIX_REPOSITORY_URL": repository_url(emu),
               "MENDIX_JOB_JOURNAL_DIR": str(tmp_path / "journal"),
               "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"], **(secrets or {})}
    result = ansible_runner.run(private_data_dir=str(private), playbook=playbook, envvars=envvars, quiet=True,
                                inventory=inventory, extravars=extra_vars)
    output = result.stdout.read()
    assert result.status == "successful" and result.rc == 0, output[-4000:]
    assert ADMIN not in output and not [name for name, value in (secrets or {}).items() if value in output]
    stats = [e for e in result.events if e["event"] == "playbook_on_stats"][-1]["event_data"]
    return stats.get("artifact_data") or {}, stats["changed"]


def nightly(emu, tmp_path):
    workflow_vars = {"mendix_app_id": GIT_APP, "mendix_branch": "main", "mendix_revision": "", "mendix_namespace_id": NAMESPACE,
                     "mendix_environment_id": "gitdemo", "mendix_keep": 10}
    artifact, built = job(emu, tmp_path, "build.yml", workflow_vars)
    _artifact, deployed = job(emu, tmp_path, "deploy.yml", dict(workflow_vars, **artifact))
    _artifact, pruned = job(emu, tmp_path, "prune.yml", workflow_vars)
    return artifact["mendix_package_id"], built, deployed, pruned


def test_nightly_workflow_builds_the_head_deploys_and_prunes_then_is_idempotent(emu, tmp_path):
    old = emu.control("POST", "packages", {"appId": GIT_APP, "count": 14, "branch": "main", "agoSeconds": 86400,
                                           "stepSeconds": 3600})["ids"]
    package_id, built, deployed, pruned = nightly(emu, tmp_path)
    package = [p for p in packages_of(emu) if p["id"] == package_id][0]
    assert package["modelVersion"] == f"1.0.0.{HEAD[:8]}"
    assert built and deployed and pruned  # each node changed something
    left = {p["id"] for p in packages_of(emu)}
    assert left == {package_id} | set(old[-9:])  # the newest 10 of main: tonight's and the 9 newest before it
    writes = write_requests(emu)
    assert len([w for w in writes if w["path"].endswith("/packages/build")]) == 1
    assert len([w for w in writes if w["method"] == "PUT"]) == 1  # two servers, one deploy
    assert len([w for w in writes if w["method"] == "DELETE"]) == 5

    emu.control("DELETE", "requests")
    again_id, built, deployed, pruned = nightly(emu, tmp_path)
    assert again_id == package_id and not built and not deployed and not pruned
    assert write_requests(emu) == []


def environment(emu, env_id):
    req = urllib.request.Request(f"{emu.url}/apps/{GIT_APP}/namespaces/{NAMESPACE}/environments/{env_id}",
                                 headers={"Authorization": f"MxToken {ADMIN}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["environment"]


def test_provisioning_creates_the_environments_deploys_and_scales_then_changes_nothing(emu, tmp_path):
    _artifact, changed = job(emu, tmp_path, "provision.yml", {})
    assert changed
    test, acceptance = environment(emu, "test"), environment(emu, "acceptance")
    built = [p for p in packages_of(emu) if p["modelVersion"] == f"1.0.0.{HEAD[:8]}"]
    assert len(built) == 1 and test["deployment"]["packageId"] == built[0]["id"]
    assert {"name": "MyFirstModule.FeatureLoginPage", "value": "true"} in test["deployment"]["constants"]
    assert {"name": "MyFirstModule.SendReminders", "enabled": True} in acceptance["deployment"]["scheduledEvents"]
    assert acceptance["container"]["instances"] == 2 and acceptance["container"]["state"] == "Ready"
    assert test["deployment"]["appUrl"] == "https://test.apps.example.test"
    writes = [(w["method"], w["path"].rsplit("/", 1)[-1]) for w in write_requests(emu)]
    assert writes == [("POST", "build"), ("POST", "environments"), ("POST", "environments"), ("PUT", "acceptance")]

    emu.control("DELETE", "requests")
    _artifact, changed = job(emu, tmp_path, "provision.yml", {})
    assert not changed and write_requests(emu) == []


def test_from_an_empty_cluster_to_a_running_app_then_changes_nothing(emu, tmp_path):
    """The workflow "Mendix from an empty cluster to a running app": platform.yml registers a new cluster and
    namespace and fetches mxpc-cli (the Operator's installation is off: it needs a real cluster), provision.yml
    creates the app's environments there, then the role builds (build.yml) and the deploy node deploys to the new
    test environment. A second run of the whole workflow changes nothing and writes nothing."""
    secret = "ZW1wdHktY2x1c3Rlci1zZWNyZXQ="
    workflow_vars = {"mendix_cluster_id": "0d6f3b2a-8c41-4e9f-b7a2-5c3d1e9f4a68", "mendix_cluster_name": "edge",
                     "mendix_cluster_type": "eks", "mendix_namespace_id": "7a2c9e41-3b5d-4f60-8e1a-2d4c6b8f0e37",
                     "mendix_namespace": "edge-apps", "mendix_install_operator": False,
                     "mendix_cli_dir": str(tmp_path / "cli"), "mendix_app_id": GIT_APP}
    injected = {"MENDIX_NAMESPACE_SECRET": secret}  # what the credential injects
    _artifact, registered = job(emu, tmp_path, "platform.yml", workflow_vars, injected)
    _artifact, provisioned = job(emu, tmp_path, "provision.yml", workflow_vars)
    assert registered and provisioned
    namespaces = {n["namespaceId"]: n for n in emu.control("GET", "namespaces")}
    assert namespaces[workflow_vars["mendix_namespace_id"]]["clusterId"] == workflow_vars["mendix_cluster_id"]
    assert namespaces[workflow_vars["mendix_namespace_id"]]["secret"] == hashlib.sha256(secret.encode()).hexdigest()
    envs = [(e["namespaceId"], e["environmentId"]) for e in emu.control("GET", "environments")]
    assert {"test", "acceptance"} <= {env for ns, env in envs if ns == workflow_vars["mendix_namespace_id"]}
    assert (tmp_path / "cli" / "mxpc-cli").exists()
    # then the role builds the head of main (build.yml) and the deploy node hands it to the new test environment
    role_vars = dict(workflow_vars, mendix_branch="main", mendix_revision="", mendix_environment_id="test")
    artifact, _built = job(emu, tmp_path, "build.yml", role_vars)
    _artifact, _deployed = job(emu, tmp_path, "deploy.yml", dict(role_vars, **artifact))
    test_env = [e for e in emu.control("GET", "environments")
                if (e["namespaceId"], e["environmentId"]) == (workflow_vars["mendix_namespace_id"], "test")][0]
    assert test_env["packageId"] == artifact["mendix_package_id"] and test_env["state"] == "Ready", test_env
    emu.control("DELETE", "requests")
    changed = [job(emu, tmp_path, "platform.yml", workflow_vars, injected)[1],
               job(emu, tmp_path, "provision.yml", workflow_vars)[1]]
    artifact, built = job(emu, tmp_path, "build.yml", role_vars)
    changed += [built, job(emu, tmp_path, "deploy.yml", dict(role_vars, **artifact))[1]]
    assert not any(changed) and write_requests(emu) == [], changed

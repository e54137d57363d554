"""Environments as the Deploy API keeps them: create (POST), delete, write-schema checks, the app's model, write-only
secrets, and an edit made by someone else between a client's read and its write."""

import copy
import hashlib

from emutest import GIT_APP, NAMESPACE, READONLY, SVN_APP, assert_envelope
from mxpc_emulator import seed as seedmod

ENVS = f"/apps/{GIT_APP}/environments"


def env_path(env_id, app=GIT_APP, ns=NAMESPACE):
    return f"/apps/{app}/namespaces/{ns}/environments/{env_id}"


def new_manifest(package_id, env_id="acc", **environment):
    manifest = {
        "manifestVersion": "2.0.0",
        "environment": {
            "id": env_id,
            "properties": {"name": "Acceptance", "production": False, "defaultStudioTarget": False, "secretsStoreEnabled": False},
            "deployment": {"appUrl": "https://acc.example.test", "packageId": package_id,
                           "constants": [{"name": "MyFirstModule.MaxUploadMB", "value": "50"}],
                           "scheduledEvents": [{"name": "MyFirstModule.NightlyCleanup", "enabled": True}]},
            "container": {"instances": 2, "coreResources": {"limits": {"cpu": "1", "memory": "1"},
                                                            "requests": {"cpu": "0.5", "memory": "0.5"}}},
            "runtime": {"mxAdminPassword": "c2VjcmV0LTE=", "environmentVariables": [{"name": "TZ", "value": "UTC"}]},
            "provider": {"clusterId": seedmod.DEMO_CLUSTER_ID, "namespace": "demo-namespace"},
            "services": [],
        },
    }
    manifest["environment"].update(environment)
    return manifest


def fingerprint(value):
    return hashlib.sha256(value.encode()).hexdigest()


def state_of(api, env_id):
    found = [e for e in api.emu.control("GET", "environments") if e["environmentId"] == env_id]
    return found[0] if found else None


def test_create_makes_the_environment_with_the_model_completed(api):
    pkg = api.built_package()
    resp = api("POST", ENVS, json=new_manifest(pkg["id"]))
    assert resp.status_code == 202 and resp.json()["details"] == "Request to create environment."
    assert api("GET", env_path("acc")).status_code == 404  # not there until the job ends
    assert api.wait(resp.json()["id"])["status"] == "finished"
    env = api("GET", env_path("acc")).json()["environment"]
    assert env["deployment"]["packageId"] == pkg["id"]
    assert env["provider"]["namespaceId"] == NAMESPACE and env["properties"]["environmentPurpose"] == "Test"
    assert env["container"]["lastRunningInstanceCount"] == 2
    assert env["deployment"]["constants"] == [{"name": "MyFirstModule.ApiUrl", "value": "https://api.example.test"},
                                              {"name": "MyFirstModule.FeatureLoginPage", "value": "false"},
                                              {"name": "MyFirstModule.MaxUploadMB", "value": "50"}]
    assert env["deployment"]["scheduledEvents"] == [{"name": "MyFirstModule.NightlyCleanup", "enabled": True},
                                                    {"name": "MyFirstModule.SendReminders", "enabled": False}]
    # the secret is stored, never shown
    assert "mxAdminPassword" not in env["runtime"]
    assert state_of(api, "acc")["secrets"] == {"mxAdminPassword": fingerprint("c2VjcmV0LTE=")}
    listed = [m["environment"]["id"] for m in api("GET", ENVS).json()["environments"]]
    assert listed == ["acc", "gitdemo"]


def test_a_duplicate_id_fails_the_create_job(api):
    pkg = api.built_package()
    job = api.wait(api("POST", ENVS, json=new_manifest(pkg["id"], env_id="gitdemo")).json()["id"])
    assert job["status"] == "failed" and "already exists" in job["error"]["message"]
    # another app's environment id in the same namespace is taken too
    svn_pkg = api.built_package(app=SVN_APP, branch="trunk", revision="623")
    svn = new_manifest(svn_pkg["id"], env_id="gitdemo")
    svn["environment"]["deployment"]["constants"] = []
    svn["environment"]["deployment"]["scheduledEvents"] = []
    job = api.wait(api("POST", f"/apps/{SVN_APP}/environments", json=svn).json()["id"])
    assert job["status"] == "failed" and "already exists" in job["error"]["message"]


def test_create_refuses_what_it_cannot_store(api):
    pkg = api.built_package()
    bad = new_manifest(pkg["id"], env_id="x" * 33)
    env = bad["environment"]
    env["provider"]["namespace"] = "no-such-namespace"
    env["deployment"]["constants"].append({"name": "Nope.Constant", "value": "1"})
    env["deployment"]["appLogLevels"] = [{"name": "Core", "level": "LOUD"}]
    env["container"]["coreResources"]["limits"] = {"cpu": 1}
    del env["services"]
    body = assert_envelope(api("POST", ENVS, json=bad), 400)
    names = {p["name"] for p in body["error"]["invalid-params"]}
    assert names == {"environment.id", "environment.deployment.appLogLevels[0].level",
                     "environment.container.coreResources.limits.cpu", "environment.container.coreResources.limits.memory",
                     "environment.services"}
    # the model and the namespace are checked once the shape is right
    fixed = new_manifest(pkg["id"])
    fixed["environment"]["provider"]["namespace"] = "no-such-namespace"
    fixed["environment"]["deployment"]["scheduledEvents"].append({"name": "Nope.Event", "enabled": True})
    assert_envelope(api("POST", ENVS, json=fixed), 400, names=["environment.deployment.scheduledEvents[1].name"])
    fixed["environment"]["deployment"]["scheduledEvents"].pop()
    assert_envelope(api("POST", ENVS, json=fixed), 400, names=["environment.provider.namespace"])
    # a package of another app fails the job
    other = api.built_package(app=SVN_APP, branch="trunk", revision="623")
    job = api.wait(api("POST", ENVS, json=new_manifest(other["id"])).json()["id"])
    assert job["status"] == "failed" and other["id"] in job["error"]["message"]
    assert api.with_token(READONLY)("POST", ENVS, json=new_manifest(pkg["id"])).status_code == 403


def test_delete_removes_the_environment(api):
    resp = api("DELETE", env_path("gitdemo"))
    assert resp.status_code == 202 and resp.json()["details"] == "Request to delete environment."
    assert api("GET", env_path("gitdemo")).json()["environment"]["container"]["state"] == "Processing"
    assert api.wait(resp.json()["id"])["status"] == "finished"
    assert_envelope(api("GET", env_path("gitdemo")), 404)
    assert_envelope(api("DELETE", env_path("gitdemo")), 404)
    assert api.with_token(READONLY)("DELETE", env_path("svndemo", app=SVN_APP)).status_code == 403


def test_secrets_are_write_only_kept_and_cleared(api):
    pkg = api.built_package()
    api.wait(api("POST", ENVS, json=new_manifest(pkg["id"])).json()["id"])
    manifest = api("GET", env_path("acc")).json()
    manifest["environment"]["container"]["instances"] = 3
    api.wait(api("PUT", env_path("acc"), json=manifest).json()["id"])
    assert state_of(api, "acc")["secrets"] == {"mxAdminPassword": fingerprint("c2VjcmV0LTE=")}  # left out: kept
    again = copy.deepcopy(manifest)
    again["environment"]["runtime"]["debuggerPassword"] = "ZGVidWc="
    again["environment"]["runtime"]["mxAdminPassword"] = "LS0t"
    api.wait(api("PUT", env_path("acc"), json=again).json()["id"])
    assert state_of(api, "acc")["secrets"] == {"debuggerPassword": fingerprint("ZGVidWc=")}
    assert "debuggerPassword" not in api("GET", env_path("acc")).json()["environment"]["runtime"]


def test_put_refuses_a_constant_the_model_does_not_define(api):
    manifest = api("GET", env_path("gitdemo")).json()
    manifest["environment"]["deployment"]["constants"].append({"name": "Nope.Constant", "value": "1"})
    assert_envelope(api("PUT", env_path("gitdemo"), json=manifest), 400, message_has="defines no constant 'Nope.Constant'")


def test_a_settings_change_restarts_the_app(api):
    api.emu.control("POST", "settings", {"start_seconds": 30})
    manifest = api("GET", env_path("gitdemo")).json()
    manifest["environment"]["runtime"]["environmentVariables"] = [{"name": "TZ", "value": "UTC"}]
    api.wait(api("PUT", env_path("gitdemo"), json=manifest).json()["id"])
    assert api("GET", env_path("gitdemo")).json()["environment"]["container"]["state"] == "Processing"
    # a new name only is no restart
    manifest = api("GET", env_path("svndemo", app=SVN_APP)).json()
    manifest["environment"]["properties"]["name"] = "SVN demo"
    api.wait(api("PUT", env_path("svndemo", app=SVN_APP), json=manifest).json()["id"])
    assert api("GET", env_path("svndemo", app=SVN_APP)).json()["environment"]["container"]["state"] == "Ready"


def test_an_edit_between_read_and_write(api):
    edit = {"appId": GIT_APP, "namespaceId": NAMESPACE, "environmentId": "gitdemo", "afterReads": 2,
            "set": {"container.instances": 4}}
    assert api.emu.control("POST", "environment-edits", edit)["afterReads"] == 2
    first = api("GET", env_path("gitdemo")).json()
    assert first["environment"]["container"]["instances"] == 1
    second = api("GET", env_path("gitdemo")).json()  # the edit comes right after this read's answer
    assert second["environment"]["container"]["instances"] == 1
    assert api("GET", env_path("gitdemo")).json()["environment"]["container"]["instances"] == 4
    assert api("GET", env_path("gitdemo")).json()["environment"]["container"]["instances"] == 4

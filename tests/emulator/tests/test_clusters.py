"""Deploy API 4.13 beneath the environments: clusters, namespaces, apps and mxpc-cli, through the emulator's HTTP."""

import hashlib
import uuid

import requests

from emutest import GIT_APP, NAMESPACE, READONLY, SVN_APP, assert_envelope
from mxpc_emulator import seed as seedmod
from mxpc_emulator.cluster_api import SECRET_SHOWN
from mxpc_emulator.store import PLATFORM_JOBS

CLUSTER = seedmod.DEMO_CLUSTER_ID


def cluster_manifest(cluster_id, **fields):
    return {"manifestVersion": "2.0.0", "cluster": dict({"clusterId": cluster_id, "name": "edge", "clusterType": "eks"}, **fields)}


def namespace_manifest(namespace_id, secret="c2VjcmV0LW9uZQ==", **fields):
    return {"manifestVersion": "2.0.0", "namespace": dict({"namespaceId": namespace_id, "name": "edge-apps",
                                                           "installationType": "Connected", "secret": secret}, **fields)}


def finished(api, resp):
    assert resp.status_code == 202, resp.text
    return api.wait(resp.json()["id"])


def test_the_seed_has_the_cluster_and_namespace_of_its_environments(api):
    clusters = api("GET", "/clusters").json()["clusters"]
    assert [c["cluster"]["clusterId"] for c in clusters] == [CLUSTER]
    shown = clusters[0]["cluster"]
    assert shown["totalNamespaces"] == 1 and shown["totalEnvironments"] == 2 and shown["clusterType"] == "k8s"
    namespaces = api("GET", f"/clusters/{CLUSTER}/namespaces", params={"retrieveEnvironments": "true"}).json()["namespaces"]
    assert [n["namespace"]["namespaceId"] for n in namespaces] == [NAMESPACE]
    envs = namespaces[0]["namespace"]["environments"]
    assert sorted((e["applicationId"], e["environmentId"]) for e in envs) == sorted([(GIT_APP, "gitdemo"), (SVN_APP, "svndemo")])
    assert "environments" not in api("GET", f"/clusters/{CLUSTER}/namespaces/{NAMESPACE}").json()["namespace"]


def test_cluster_create_update_delete_through_jobs(api):
    cluster_id = str(uuid.uuid4())
    job = finished(api, api("POST", "/clusters", json=cluster_manifest(cluster_id, operatorType="global_operator")))
    assert job["status"] == "finished" and job["details"] == "Request to create cluster."
    shown = api("GET", f"/clusters/{cluster_id}").json()["cluster"]
    assert (shown["name"], shown["operatorType"], shown["totalNamespaces"]) == ("edge", "global_operator", 0)
    again = finished(api, api("POST", "/clusters", json=cluster_manifest(cluster_id)))
    assert again["status"] == "failed" and "already exists" in again["error"]["message"]
    update = cluster_manifest(cluster_id, name="edge-2", description="d", operatorType="standard_operator",
                              clusterManagers=[{"email": "a@example.test", "autoAcceptInvite": True}, {"email": "b@example.test"}])
    assert finished(api, api("PUT", f"/clusters/{cluster_id}", json=update))["status"] == "finished"
    shown = api("GET", f"/clusters/{cluster_id}").json()["cluster"]
    assert shown["name"] == "edge-2" and shown["operatorType"] == "global_operator"  # it cannot change
    assert [(m["email"], m["status"]) for m in shown["clusterManagers"]] == [("a@example.test", "Accepted"),
                                                                             ("b@example.test", "Invitation_Sent")]
    # autoAcceptInvite is read for new invitations only
    update["cluster"]["clusterManagers"][1]["autoAcceptInvite"] = True
    finished(api, api("PUT", f"/clusters/{cluster_id}", json=update))
    assert api("GET", f"/clusters/{cluster_id}").json()["cluster"]["clusterManagers"][1]["status"] == "Invitation_Sent"
    assert finished(api, api("DELETE", f"/clusters/{cluster_id}"))["status"] == "finished"
    assert_envelope(api("GET", f"/clusters/{cluster_id}"), 404, message_has="could not be found")


def test_written_manifests_are_checked_against_the_write_schemas(api):
    assert_envelope(api("POST", "/clusters", json=cluster_manifest("nope", clusterType="gke")), 400,
                    names=["cluster.clusterId", "cluster.clusterType"])
    assert_envelope(api("PUT", f"/clusters/{CLUSTER}", json=cluster_manifest(str(uuid.uuid4()))), 400,
                    names=["cluster.clusterId"])
    invalid = namespace_manifest(str(uuid.uuid4()), secret=None, installationType="Hybrid")
    assert_envelope(api("POST", f"/clusters/{CLUSTER}/namespaces", json=invalid), 400,
                    names=["namespace.installationType", "namespace.secret"])
    update = namespace_manifest(NAMESPACE)  # no productTypePCLM: the update schema requires it
    assert_envelope(api("PUT", f"/clusters/{CLUSTER}/namespaces/{NAMESPACE}", json=update), 400,
                    names=["namespace.productTypePCLM"])
    assert_envelope(api.with_token(READONLY)("POST", "/clusters", json=cluster_manifest(str(uuid.uuid4()))), 403)
    assert [j["kind"] for j in api.emu.control("GET", "jobs") if j["kind"] in PLATFORM_JOBS] == []


def test_namespace_secret_is_stored_apart_and_an_echo_keeps_it(api):
    namespace_id = str(uuid.uuid4())
    assert finished(api, api("POST", f"/clusters/{CLUSTER}/namespaces", json=namespace_manifest(namespace_id)))["status"] == "finished"
    path = f"/clusters/{CLUSTER}/namespaces/{namespace_id}"
    read = api("GET", path)
    assert "c2VjcmV0LW9uZQ==" not in read.text and read.json()["namespace"]["secret"] == SECRET_SHOWN

    def stored():
        return {n["namespaceId"]: n["secret"] for n in api.emu.control("GET", "namespaces")}[namespace_id]

    assert stored() == hashlib.sha256(b"c2VjcmV0LW9uZQ==").hexdigest()
    manifest = read.json()
    manifest["namespace"].update(enableDevelopmentMode=True, operationalLinks={"logsUrl": "https://logs.example.test"},
                                 plans=[{"planName": "minio", "activate": True, "planType": "OnDemand"}],
                                 membership=[{"email": "dev@example.test", "role": "Developer", "autoAcceptInvite": True}])
    assert finished(api, api("PUT", path, json=manifest))["status"] == "finished"
    after = api("GET", path).json()["namespace"]
    assert after["enableDevelopmentMode"] is True and after["operationalLinks"] == {"logsUrl": "https://logs.example.test"}
    assert [(p["planName"], p["planType"], p["activate"]) for p in after["plans"]] == [("ephemeral", "OnDemand", False),
                                                                                       ("minio", "Dedicated", True)]
    assert [(m["email"], m["status"], m["permissions"]["deployApp"]) for m in after["membership"]] == [
        ("dev@example.test", "Accepted", True)]
    assert stored() == hashlib.sha256(b"c2VjcmV0LW9uZQ==").hexdigest()  # the echoed placeholder kept it
    manifest["namespace"]["secret"] = "c2VjcmV0LXR3bw=="
    finished(api, api("PUT", path, json=manifest))
    assert stored() == hashlib.sha256(b"c2VjcmV0LXR3bw==").hexdigest()


def test_a_namespace_with_environments_is_not_deleted_and_names_them(api):
    job = finished(api, api("DELETE", f"/clusters/{CLUSTER}/namespaces/{NAMESPACE}"))
    assert job["status"] == "failed" and "gitdemo" in job["error"]["message"] and "svndemo" in job["error"]["message"]
    assert finished(api, api("DELETE", f"/clusters/{CLUSTER}"))["status"] == "failed"
    assert api("GET", f"/clusters/{CLUSTER}/namespaces/{NAMESPACE}").status_code == 200


def test_a_new_namespace_takes_new_environments(api):
    namespace_id = str(uuid.uuid4())
    finished(api, api("POST", f"/clusters/{CLUSTER}/namespaces", json=namespace_manifest(namespace_id)))
    pkg = api.built_package()
    manifest = api("GET", f"/apps/{GIT_APP}/namespaces/{NAMESPACE}/environments/gitdemo").json()
    env = manifest["environment"]
    env["id"], env["provider"] = "edgeacc", {"clusterId": CLUSTER, "namespace": "edge-apps"}
    env["deployment"]["packageId"] = pkg["id"]
    assert finished(api, api("POST", f"/apps/{GIT_APP}/environments", json=manifest))["status"] == "finished"
    assert api("GET", f"/apps/{GIT_APP}/namespaces/{namespace_id}/environments/edgeacc").status_code == 200


def test_global_operator_main_namespace_is_refused_an_update(api):
    cluster_id, namespace_id = str(uuid.uuid4()), str(uuid.uuid4())
    finished(api, api("POST", "/clusters", json=cluster_manifest(cluster_id, operatorType="global_operator")))
    finished(api, api("POST", f"/clusters/{cluster_id}/namespaces", json=namespace_manifest(namespace_id, namespaceType="main")))
    manifest = api("GET", f"/clusters/{cluster_id}/namespaces/{namespace_id}").json()
    assert_envelope(api("PUT", f"/clusters/{cluster_id}/namespaces/{namespace_id}", json=manifest), 400,
                    message_has="Request validation errors")


def test_apps_and_the_configuration_tool(api):
    apps = api("GET", "/apps").json()["apps"]
    assert sorted(a["app"]["appId"] for a in apps) == sorted([GIT_APP, SVN_APP])
    assert api("GET", f"/apps/{GIT_APP}").json()["app"]["appName"] == "demo-git-app"
    versions = api("GET", "/cli").json()["cliVersionList"]
    newest = versions[0]["cliVersion"]
    resp = api("POST", f"/cli/{newest}", params={"os": "linux", "architecture": "x86"}, allow_redirects=False)
    assert resp.status_code == 303 and resp.headers["Location"] == resp.headers["Content-Location"]
    file = requests.get(resp.headers["Location"], timeout=10)  # a CDN: no token
    assert file.status_code == 200 and f"mxpc-cli version {newest}".encode() in file.content
    assert_envelope(api("POST", f"/cli/{newest}", params={"os": "beos", "architecture": "x86"}), 400, names=["os"])
    assert_envelope(api("POST", "/cli/9.9.9", params={"os": "linux", "architecture": "x86"}), 404)
    assert_envelope(api("POST", f"/cli/{versions[1]['cliVersion']}", params={"os": "linux", "architecture": "arm"}), 400,
                    names=["architecture"])

"""Deploy API subset: environment manifests, GET then PUT, and the job that applies them."""

import json
import time
import zipfile

import requests

from emutest import GIT_APP, NAMESPACE, READONLY, SVN_APP, assert_envelope

ENV = f"/apps/{GIT_APP}/namespaces/{NAMESPACE}/environments/gitdemo"


def test_manifest_shape(api):
    resp = api("GET", ENV)
    assert resp.status_code == 200
    manifest = resp.json()
    assert manifest["manifestVersion"] == "2.0.0"
    env = manifest["environment"]
    assert env["id"] == "gitdemo"
    assert {"name", "production", "defaultStudioTarget", "secretsStoreEnabled"} <= set(env["properties"])
    assert set(env["deployment"]) >= {"appUrl", "packageId", "constants"}
    assert env["container"]["instances"] == 1 and env["container"]["state"] == "Ready"
    assert env["provider"]["clusterId"] and env["provider"]["namespace"]
    assert isinstance(env["services"], list)


def test_put_new_package_runs_a_job_and_applies(api):
    pkg = api.built_package()
    manifest = api("GET", ENV).json()
    manifest["environment"]["deployment"]["packageId"] = pkg["id"]
    manifest["environment"]["deployment"]["constants"] = [{"name": "MyFirstModule.ApiUrl", "value": "https://hi.test"}]
    resp = api("PUT", ENV, json=manifest)
    assert resp.status_code == 202
    assert resp.headers["Location"].endswith(f"/jobs/{resp.json()['id']}")
    assert api("GET", ENV).json()["environment"]["container"]["state"] == "Processing"
    job = api.wait(resp.json()["id"])
    assert job["status"] == "finished" and "packageId" not in job
    after = api("GET", ENV).json()["environment"]
    assert after["deployment"]["packageId"] == pkg["id"]
    # the model's other constants keep their defaults, in the model's order
    assert after["deployment"]["constants"] == [{"name": "MyFirstModule.ApiUrl", "value": "https://hi.test"},
                                                {"name": "MyFirstModule.FeatureLoginPage", "value": "false"},
                                                {"name": "MyFirstModule.MaxUploadMB", "value": "25"}]
    assert after["container"]["state"] == "Ready"


def test_instances_to_zero_keeps_last_running_count(api):
    pkg = api.built_package()
    manifest = api("GET", ENV).json()
    manifest["environment"]["deployment"]["packageId"] = pkg["id"]
    manifest["environment"]["container"]["instances"] = 0
    manifest["environment"]["container"]["lastRunningInstanceCount"] = 7
    assert api.wait(api("PUT", ENV, json=manifest).json()["id"])["status"] == "finished"
    container = api("GET", ENV).json()["environment"]["container"]
    assert container["instances"] == 0 and container["lastRunningInstanceCount"] == 1


def test_package_of_another_app_fails_the_job(api):
    other = api.built_package(app=SVN_APP, branch="trunk", revision="623")
    manifest = api("GET", ENV).json()
    manifest["environment"]["deployment"]["packageId"] = other["id"]
    job = api.wait(api("PUT", ENV, json=manifest).json()["id"])
    assert job["status"] == "failed"
    assert other["id"] in job["error"]["message"]
    assert api("GET", ENV).json()["environment"]["deployment"]["packageId"] == ""


def test_manifest_validation(api):
    manifest = api("GET", ENV).json()
    manifest["environment"]["id"] = "other"
    del manifest["environment"]["deployment"]["appUrl"]
    manifest["environment"]["container"]["instances"] = 11
    body = assert_envelope(api("PUT", ENV, json=manifest), 400)
    names = {p["name"] for p in body["error"]["invalid-params"]}
    # packageId "" is the environment's own (it runs no package yet): not a problem
    assert names == {"environment.id", "environment.deployment.appUrl", "environment.container.instances"}
    manifest["environment"]["deployment"]["packageId"] = None
    body = assert_envelope(api("PUT", ENV, json=manifest), 400, names=["environment.deployment.packageId"])


def test_unknown_environment_and_namespace(api):
    assert_envelope(api("GET", f"/apps/{GIT_APP}/namespaces/{NAMESPACE}/environments/nope"), 404)
    assert_envelope(api("GET", f"/apps/{GIT_APP}/namespaces/other/environments/gitdemo"), 404)


def test_deploy_scopes(api):
    ro = api.with_token(READONLY)
    manifest = ro("GET", ENV).json()
    assert_envelope(ro("PUT", ENV, json=manifest), 403, message_has="mx:deployment:write")


def test_environment_list_pages_by_offset_and_shows_what_runs(api, emulator):
    pkg = api.built_package()
    listed = api("GET", f"/apps/{GIT_APP}/environments")
    assert listed.status_code == 200 and set(listed.json()) == {"environments"}
    assert [m["environment"]["id"] for m in listed.json()["environments"]] == ["gitdemo"]
    manifest = api("GET", ENV).json()
    manifest["environment"]["deployment"]["packageId"] = pkg["id"]
    job = api("PUT", ENV, json=manifest).json()
    assert api("GET", f"/apps/{GIT_APP}/environments").json()["environments"][0]["environment"]["container"]["state"] == "Processing"
    api.wait(job["id"])
    shown = api("GET", f"/apps/{GIT_APP}/environments", headers={"Authorization": f"MxToken {READONLY}"}).json()["environments"][0]["environment"]
    assert shown["deployment"]["packageId"] == pkg["id"] and shown["container"]["state"] == "Ready"
    assert api("GET", f"/apps/{GIT_APP}/environments", params={"offset": 1}).json() == {"environments": []}
    emulator.control("POST", "settings", {"max_page_size": 1})
    assert len(api("GET", f"/apps/{GIT_APP}/environments", params={"limit": 5}).json()["environments"]) == 1
    assert_envelope(api("GET", f"/apps/{GIT_APP}/environments", params={"limit": "x"}), 400, names=["limit"])
    assert api("GET", f"/apps/{SVN_APP}/environments").json()["environments"][0]["environment"]["id"] == "svndemo"


def test_after_the_job_the_app_starts_then_is_ready_or_failed(api, emulator):
    emulator.control("POST", "settings", {"start_seconds": 1})
    good = api.built_package()
    bad = api.built_package(branch="feature/login-page", revision="b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6")
    root = emulator.root
    for pkg, outcome in ((good, "Ready"), (bad, "Failed")):
        manifest = api("GET", ENV).json()
        manifest["environment"]["deployment"]["packageId"] = pkg["id"]
        api.wait(api("PUT", ENV, json=manifest).json()["id"])
        assert api("GET", ENV).json()["environment"]["container"]["state"] == "Processing"  # starting
        assert requests.get(f"{root}/_apps/gitdemo/", timeout=10).status_code == 503
        time.sleep(1.1)
        assert api("GET", ENV).json()["environment"]["container"]["state"] == outcome
    manifest = api("GET", ENV).json()
    manifest["environment"]["deployment"]["packageId"] = good["id"]
    api.wait(api("PUT", ENV, json=manifest).json()["id"])
    time.sleep(1.1)
    page = requests.get(f"{root}/_apps/gitdemo/", timeout=10)
    shown = [e for e in emulator.control("GET", "environments") if e["environmentId"] == "gitdemo"][0]
    assert shown["state"] == "Ready" and shown["packageId"] == good["id"] and shown["settledAt"] <= time.time()
    assert page.status_code == 200 and page.json()["packageId"] == good["id"] and page.json()["state"] == "Ready"
    assert emulator.control("POST", "app-health", {"environmentId": "gitdemo", "healthy": False})["healthy"] is False
    assert requests.get(f"{root}/_apps/gitdemo/", timeout=10).json()["status"] == "unhealthy"
    emulator.control("POST", "app-health", {"environmentId": "gitdemo", "healthy": True})
    assert requests.get(f"{root}/_apps/gitdemo/", timeout=10).status_code == 200
    logged = [r for r in emulator.requests() if r["path"] == "/_apps/gitdemo/"]
    assert logged and logged[-1]["status"] == 200 and logged[-1]["authorization"] is False
    assert requests.get(f"{root}/_apps/nothing/", timeout=10).status_code == 404


def test_an_uploaded_package_can_say_it_fails_to_start(api, emulator, tmp_path):
    emulator.control("POST", "settings", {"start_seconds": 0})
    path = tmp_path / "bad.mda"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model/metadata.json", json.dumps({"ModelVersion": "1.2.3.4", "FailsToStart": True}))
    with open(path, "rb") as handle:
        job = api("POST", f"/apps/{GIT_APP}/packages", files={"file": handle}, data={"fileName": "bad.mda"}).json()
    pkg_id = api.wait(job["id"])["packageId"]
    manifest = api("GET", ENV).json()
    manifest["environment"]["deployment"]["packageId"] = pkg_id
    api.wait(api("PUT", ENV, json=manifest).json()["id"])
    assert api("GET", ENV).json()["environment"]["container"]["state"] == "Failed"


def test_deploy_faults_fail_a_start_step_or_land_late(api, emulator):
    pkg = api.built_package()
    bad = requests.post(emulator.root + "/_emulator/deploy-faults", json={"environmentId": "gitdemo", "effect": "explode"},
                        timeout=10)
    assert bad.status_code == 400 and "effect: fail|late" in bad.text
    manifest = api("GET", ENV).json()
    # a start step (instances 0 -> 1) fails and changes nothing; a PUT that starts nothing is not matched
    emulator.control("POST", "deploy-faults", {"environmentId": "gitdemo", "step": "start", "effect": "fail"})
    manifest["environment"]["deployment"]["packageId"] = pkg["id"]
    assert api.wait(api("PUT", ENV, json=manifest).json()["id"])["status"] == "finished"  # 1 -> 1: no start step
    manifest["environment"]["container"]["instances"] = 0
    assert api.wait(api("PUT", ENV, json=manifest).json()["id"])["status"] == "finished"
    manifest["environment"]["container"]["instances"] = 2
    failed = api.wait(api("PUT", ENV, json=manifest).json()["id"])
    assert failed["status"] == "failed" and "did not start" in failed["error"]["message"]
    assert api("GET", ENV).json()["environment"]["container"]["instances"] == 0
    # late: the job runs its seconds, Processing meanwhile, then lands
    emulator.control("POST", "deploy-faults", {"environmentId": "gitdemo", "effect": "late", "seconds": 1.5})
    started = time.monotonic()
    job_id = api("PUT", ENV, json=manifest).json()["id"]
    assert api("GET", ENV).json()["environment"]["container"]["state"] == "Processing"
    assert api.wait(job_id)["status"] == "finished" and time.monotonic() - started >= 1.4
    assert api("GET", ENV).json()["environment"]["container"]["instances"] == 2


def test_an_app_can_trickle_its_answer(api, emulator):
    pkg = api.built_package()
    manifest = api("GET", ENV).json()
    manifest["environment"]["deployment"]["packageId"] = pkg["id"]
    assert api.wait(api("PUT", ENV, json=manifest).json()["id"])["status"] == "finished"
    emulator.control("POST", "app-health", {"environmentId": "gitdemo", "healthy": True, "trickle": True})
    page = emulator.url.rsplit("/api/v4", 1)[0] + "/_apps/gitdemo/"
    with requests.get(page, stream=True, timeout=10) as resp:
        assert resp.status_code == 200
        started = time.monotonic()
        first = resp.raw.read(3)
        assert first == b'{"e' and time.monotonic() - started >= 1.5  # a byte a second

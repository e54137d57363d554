"""Answers without the fields a client relies on give clear errors (or a documented fallback), never a traceback."""

from harness import GIT_APP, NAMESPACE, REV1, run_playbook


def test_a_202_without_a_job_id_in_its_body_uses_the_location(emu, tmp_path):
    emu.control("POST", "faults", {"rate": 1, "kinds": ["missing_fields"], "methods": ["POST"], "path": "/packages/build$"})
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1)
    assert run.rc == 0, run
    job = run.result["job"]
    assert run.result["changed"] is True and job["status"] == "finished" and job["location"].endswith("/jobs/" + job["id"])
    assert [j["id"] for j in emu.control("GET", "jobs")] == [job["id"]]


def test_a_finished_job_without_package_id_is_a_clear_error(emu, tmp_path):
    emu.control("POST", "faults", {"rate": 1, "kinds": ["missing_fields"], "methods": ["GET"], "path": "/jobs/"})
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1, allow_failure=True)
    assert run.result["failed"] is True and run.result["changed"] is True
    assert "finished but names no packageId" in run.result["msg"] and "Traceback" not in run.stdout + run.stderr
    assert run.result["job"]["id"] == emu.control("GET", "jobs")[0]["id"]


def test_a_manifest_without_deployment_and_container_is_a_clear_error(emu, tmp_path):
    built = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", revision=REV1)
    emu.control("POST", "faults", {"rate": 1, "kinds": ["missing_fields"], "methods": ["GET"], "path": "/environments/"})
    run = run_playbook(emu, "deploy", tmp_path, app_id=GIT_APP, namespace_id=NAMESPACE, environment_id="gitdemo",
                       package_id=built.result["package_id"])
    assert run.rc != 0
    assert "has no environment.deployment and no environment.container" in run.stdout
    assert [r for r in emu.requests() if r["method"] == "PUT"] == []

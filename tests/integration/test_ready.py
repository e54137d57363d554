"""Deploys you can trust, through real playbooks: mx_deployment waits until the environment is Ready with the package,
fails on Failed, checks the app's health, rolls back, promotes, and leaves a stopped app stopped."""

import copy
import json
import urllib.request

import pytest

from harness import ADMIN, FAST, GIT_APP, NAMESPACE, REV1, REV2, run_playbook, write_requests
from mxpc_emulator import seed as seedmod
from mxpc_emulator.testing import EmulatorProcess

FAILS_TO_START = "b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6"  # the seed's revision whose app fails to start


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """The demo seed, with the git app's test environment served by the emulator (/_apps/gitdemo/), and an acceptance,
    a production and a stopped environment beside it."""
    seed = copy.deepcopy(seedmod.DEMO_SEED)
    app = [a for a in seed["apps"] if a["id"] == GIT_APP][0]
    envs = app["namespaces"][0]["environments"]
    envs[0]["app_url"] = "/_apps/gitdemo/"
    envs += [{"id": "acc", "app_url": "/_apps/acc/", "package_id": None, "instances": 1},
             {"id": "prod", "app_url": "/_apps/prod/", "package_id": None, "instances": 2},
             {"id": "stopped", "app_url": "/_apps/stopped/", "package_id": None, "instances": 0}]
    path = tmp_path_factory.mktemp("seed") / "seed.json"
    path.write_text(json.dumps(seed))
    with EmulatorProcess(args=FAST + ["--seed", str(path), "--start-seconds", "2"]) as emu:
        yield emu


def environment(emu, env="gitdemo"):
    req = urllib.request.Request(f"{emu.url}/apps/{GIT_APP}/namespaces/{NAMESPACE}/environments/{env}",
                                 headers={"Authorization": f"MxToken {ADMIN}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["environment"]


def build(emu, tmp_path, revision, branch="main"):
    run = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch=branch, revision=revision)
    assert run.rc == 0, run
    return run.result["package_id"]


def deploy(emu, tmp_path, env="gitdemo", **options):
    return run_playbook(emu, "deploy", tmp_path, app_id=GIT_APP, namespace_id=NAMESPACE, environment_id=env,
                        allow_failure=True, **options)


def app_url(emu, env="gitdemo"):
    return emu.url.rsplit("/api/v4", 1)[0] + f"/_apps/{env}/"


def puts(emu, env="gitdemo"):
    return [r for r in write_requests(emu) if r["method"] == "PUT" and r["path"].endswith(f"/environments/{env}")]


def test_deploy_ends_when_the_environment_is_ready_with_the_package(emu, tmp_path):
    pkg = build(emu, tmp_path, REV1)
    run = deploy(emu, tmp_path, package_id=pkg)
    assert run.result["failed"] is False, run
    assert run.result["environment"]["state"] == "Ready" and run.result["environment"]["package_id"] == pkg
    assert run.result["ready"]["polls"] >= 2  # the app takes 2 s to start after the job: Processing was seen
    assert environment(emu)["container"]["state"] == "Ready"


def test_a_package_that_fails_to_start_fails_the_task_and_rolls_back_when_asked(emu, tmp_path):
    good = build(emu, tmp_path, REV1)
    assert deploy(emu, tmp_path, package_id=good).result["failed"] is False
    bad = build(emu, tmp_path, FAILS_TO_START, branch="feature/login-page")
    plain = deploy(emu, tmp_path, package_id=bad)
    assert plain.result["failed"] is True and plain.result["changed"] is True and plain.result["rolled_back"] is False
    assert "state is Failed" in plain.result["msg"]
    assert environment(emu)["deployment"]["packageId"] == bad and environment(emu)["container"]["state"] == "Failed"

    assert deploy(emu, tmp_path, package_id=good).result["failed"] is False
    rolled = deploy(emu, tmp_path, package_id=bad, rollback_on_failure=True)
    assert rolled.result["failed"] is True and rolled.result["rolled_back"] is True
    assert f"runs package {good} again" in rolled.result["msg"] and "does not undo database changes" in rolled.result["msg"]
    after = environment(emu)
    assert after["deployment"]["packageId"] == good and after["container"]["state"] == "Ready"
    assert rolled.result["environment"]["package_id"] == good


def test_health_check_passes_fails_and_times_out(emu, tmp_path):
    first = build(emu, tmp_path, REV1)
    second = build(emu, tmp_path, REV2)
    emu.control("DELETE", "requests")
    passed = deploy(emu, tmp_path, package_id=first, health_check_url=app_url(emu), health_check_contains=first)
    assert passed.result["failed"] is False, passed
    assert passed.result["health_check"]["url"] == app_url(emu)
    probes = [r for r in emu.requests() if r["path"] == "/_apps/gitdemo/"]
    assert probes and not any(r["authorization"] for r in probes)  # the token never goes to the app
    # a path under the environment's appUrl; the app answers 503 while unhealthy: the check times out
    emu.control("POST", "app-health", {"environmentId": "gitdemo", "healthy": False})
    failed = deploy(emu, tmp_path, package_id=second, health_check_url="/", wait_timeout=8)
    assert failed.result["failed"] is True and failed.result["rolled_back"] is False
    assert "did not answer HTTP 200 within" in failed.result["msg"] and "last: HTTP 503" in failed.result["msg"]
    assert environment(emu)["deployment"]["packageId"] == second
    rolled = deploy(emu, tmp_path, package_id=first, health_check_url="/", health_check_contains="never there",
                    rollback_on_failure=True, wait_timeout=8)
    assert rolled.result["rolled_back"] is True and environment(emu)["deployment"]["packageId"] == second
    emu.control("POST", "app-health", {"environmentId": "gitdemo", "healthy": True})
    wrong_text = deploy(emu, tmp_path, package_id=first, health_check_url="/", health_check_contains="no such text",
                        wait_timeout=6)
    assert "without 'no such text' in the body" in wrong_text.result["msg"]


def test_promote_deploys_what_the_source_runs_and_is_idempotent(emu, tmp_path):
    pkg = build(emu, tmp_path, REV2)
    assert deploy(emu, tmp_path, env="acc", package_id=pkg).result["failed"] is False
    emu.control("DELETE", "requests")
    checked = run_playbook(emu, "deploy", tmp_path, check=True, app_id=GIT_APP, namespace_id=NAMESPACE, environment_id="prod",
                           source_environment_id="acc")
    assert checked.result["changed"] is True and checked.result["package_id"] == pkg and write_requests(emu) == []
    promoted = deploy(emu, tmp_path, env="prod", source_environment_id="acc")
    assert promoted.result["failed"] is False and promoted.result["changed"] is True
    assert environment(emu, "prod")["deployment"]["packageId"] == pkg and environment(emu, "prod")["container"]["state"] == "Ready"
    again = deploy(emu, tmp_path, env="prod", source_environment_id="acc")
    assert again.result["changed"] is False and len(puts(emu, "prod")) == 1
    empty = deploy(emu, tmp_path, env="prod", source_environment_id="stopped")
    assert empty.result["failed"] is True and "runs no package, so there is nothing to promote" in empty.result["msg"]
    both = deploy(emu, tmp_path, env="prod", source_environment_id="acc", package_id=pkg)
    assert "mutually exclusive: package_id|source_environment_id" in both.result["msg"]


def test_restart_leaves_a_stopped_app_stopped(emu, tmp_path):
    pkg = build(emu, tmp_path, REV1)
    emu.control("DELETE", "requests")
    run = deploy(emu, tmp_path, env="stopped", package_id=pkg, restart=True)
    assert run.result["failed"] is False, run
    assert len(puts(emu, "stopped")) == 1 and len(run.result["jobs"]) == 1
    assert any("not restarted" in note for note in run.result["notes"])
    assert environment(emu, "stopped")["container"]["instances"] == 0

"""One deploy path you can trust, through real playbooks against the emulator: a promotion copies only what the
source runs; a rollback ends where the task started (package and instances, checked by a fresh read) even after a
restart step failed or an update timed out; retention never removes a rollback target; a health check that trickles
ends within the task's bound; an unchanged deploy costs one GET; the role honours module_defaults."""

import json
import threading
import time

from harness import ADMIN, GIT_APP, NAMESPACE, REV1, REV2, SVN_APP, run_playbook, write_requests
from test_ready import FAILS_TO_START, build, deploy, emulator, environment, puts  # noqa: F401  pylint: disable=unused-import


def gets(emu, env="gitdemo"):
    return [r for r in emu.requests() if r["method"] == "GET" and r["path"].endswith(f"/environments/{env}")]


def test_promotion_copies_only_what_the_source_runs(emu, tmp_path):
    good = build(emu, tmp_path, REV1)
    bad = build(emu, tmp_path, FAILS_TO_START, branch="feature/login-page")
    assert deploy(emu, tmp_path, env="acc", package_id=bad).result["failed"] is True  # acc ends Failed
    emu.control("DELETE", "requests")
    failed = deploy(emu, tmp_path, env="prod", source_environment_id="acc")
    assert failed.result["failed"] is True and failed.result["changed"] is False, failed
    assert f"is Failed with package {bad}" in failed.result["msg"]
    assert puts(emu, "prod") == [] and environment(emu, "prod")["deployment"]["packageId"] == ""

    # a source with 0 instances: nothing proves its package runs, unless source_allow_stopped
    assert deploy(emu, tmp_path, env="stopped", package_id=good).result["failed"] is False
    stopped = deploy(emu, tmp_path, env="prod", source_environment_id="stopped")
    assert stopped.result["failed"] is True and "is stopped (0 instances)" in stopped.result["msg"], stopped
    assert puts(emu, "prod") == []
    allowed = deploy(emu, tmp_path, env="prod", source_environment_id="stopped", source_allow_stopped=True)
    assert allowed.result["failed"] is False and environment(emu, "prod")["deployment"]["packageId"] == good, allowed

    # a source still Processing (its update job runs for a while)
    emu.control("POST", "deploy-faults", {"environmentId": "acc", "effect": "late", "seconds": 60})
    assert deploy(emu, tmp_path, env="acc", package_id=good, wait=False).result["failed"] is False
    busy = deploy(emu, tmp_path, env="prod", source_environment_id="acc")
    assert busy.result["failed"] is True and f"is Processing with package {bad}" in busy.result["msg"], busy
    assert len(puts(emu, "prod")) == 1  # only the allowed promotion above wrote


def test_rollback_puts_back_the_package_that_ran_before_and_says_so(emu, tmp_path):
    """Build A, B, C; deploy A; deploy C, which fails to start: the environment runs A again, and the result says A
    (B, the newest other package, is not what ran before)."""
    first = build(emu, tmp_path, REV1)
    assert deploy(emu, tmp_path, package_id=first).result["failed"] is False
    build(emu, tmp_path, REV2)
    failing = build(emu, tmp_path, FAILS_TO_START, branch="feature/login-page")
    run = deploy(emu, tmp_path, package_id=failing, rollback_on_failure=True)
    assert run.result["failed"] is True and run.result["rolled_back"] is True, run
    assert run.result["package_id"] == first and run.result["rollback_package_id"] == first
    assert run.result["previous_package_id"] == first and run.result["environment"]["package_id"] == first
    after = environment(emu)
    assert after["deployment"]["packageId"] == first and after["container"]["state"] == "Ready"


def test_a_failed_restart_is_rolled_back_to_the_package_and_the_instances(emu, tmp_path):
    first = build(emu, tmp_path, REV1)
    assert deploy(emu, tmp_path, package_id=first).result["failed"] is False
    instances = environment(emu)["container"]["instances"]
    assert instances > 0
    second = build(emu, tmp_path, REV2)
    emu.control("POST", "deploy-faults", {"environmentId": "gitdemo", "step": "start", "effect": "fail"})
    run = deploy(emu, tmp_path, package_id=second, restart=True, rollback_on_failure=True)
    assert run.result["failed"] is True and "starting the app" in run.result["msg"], run
    assert run.result["rolled_back"] is True and run.result["package_id"] == first, run
    after = environment(emu)
    assert after["deployment"]["packageId"] == first
    assert after["container"]["instances"] == instances and after["container"]["state"] == "Ready"
    assert run.result["environment"]["instances"] == instances


def test_a_rollback_after_an_update_that_timed_out_waits_for_it_and_ends_where_it_started(emu, tmp_path):
    first = build(emu, tmp_path, REV1)
    assert deploy(emu, tmp_path, package_id=first).result["failed"] is False
    second = build(emu, tmp_path, REV2)
    # the update job runs 10 s, longer than the task's 8 s, then lands
    emu.control("POST", "deploy-faults", {"environmentId": "gitdemo", "effect": "late", "seconds": 10})
    run = deploy(emu, tmp_path, package_id=second, rollback_on_failure=True, wait_timeout=8)
    assert run.result["failed"] is True and "timed out" in run.result["msg"], run
    assert run.result["rolled_back"] is True and run.result["package_id"] == first, run
    assert any("ended" in note for note in run.result["notes"])
    time.sleep(1)
    after = environment(emu)
    assert after["deployment"]["packageId"] == first and after["container"]["state"] == "Ready"
    assert [j["status"] for j in emu.control("GET", "jobs") if j["kind"] == "deploy" and not j["pending"]][-2:] == \
        ["finished", "finished"]


def test_prune_during_a_deploy_keeps_the_rollback_target(emu, tmp_path):
    first = build(emu, tmp_path, REV1)
    assert deploy(emu, tmp_path, package_id=first).result["failed"] is False
    failing = build(emu, tmp_path, FAILS_TO_START, branch="feature/login-page")
    emu.control("POST", "settings", {"start_seconds": 6})  # the failing start takes long enough to prune meanwhile
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(
        deploy(emu, tmp_path, package_id=failing, rollback_on_failure=True, wait_timeout=40)))
    worker.start()
    try:
        for _attempt in range(300):  # the update job has landed: the environment names the new package and is starting it
            if environment(emu)["deployment"]["packageId"] == failing:
                break
            time.sleep(0.1)
        assert environment(emu)["deployment"]["packageId"] == failing, "the deploy did not write"
        prune = run_playbook(emu, "prune", tmp_path, app_id=GIT_APP, keep=0)
    finally:
        worker.join(120)
    assert prune.rc == 0, prune
    assert first not in prune.result["deleted"] and first in prune.result["rollback_targets"], prune.result
    assert "is changing" in prune.stdout + prune.stderr  # the deploy held the environment's lock: named, not waited for
    run = outcome[0]
    assert run.result["rolled_back"] is True and run.result["package_id"] == first, run
    assert environment(emu)["deployment"]["packageId"] == first


def test_a_health_check_against_an_app_that_trickles_ends_within_the_bound(emu, tmp_path):
    pkg = build(emu, tmp_path, REV1)
    emu.control("POST", "app-health", {"environmentId": "gitdemo", "healthy": True, "trickle": True})
    started = time.monotonic()
    run = deploy(emu, tmp_path, package_id=pkg, health_check_url="/", wait_timeout=6)
    elapsed = time.monotonic() - started
    assert run.result["failed"] is True and "no complete answer" in run.result["msg"], run
    assert elapsed < 60, elapsed  # the app sends its ~150-byte answer a byte a second


def test_an_unchanged_deploy_costs_one_get(emu, tmp_path):
    pkg = build(emu, tmp_path, REV1)
    assert deploy(emu, tmp_path, package_id=pkg).result["changed"] is True
    emu.control("DELETE", "requests")
    again = deploy(emu, tmp_path, package_id=pkg)
    assert again.result["changed"] is False and again.result["failed"] is False, again
    assert len(gets(emu)) == 1 and write_requests(emu) == []
    assert [r["path"] for r in emu.requests()] == [gets(emu)[0]["path"]]


def test_the_role_honours_module_defaults_and_hands_off_every_app(emu, tmp_path):
    """The connection options only as play-level module_defaults of the group, the environment's URL pointing
    nowhere and no MENDIX_PAT: the role reaches the emulator; two hosts build two apps, and the next workflow node gets
    both packages."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {
        "git": {"ansible_connection": "local", "host_app_id": GIT_APP, "host_branch": "main", "host_revision": REV1,
                "host_namespace_id": NAMESPACE, "host_environment_id": "gitdemo"},
        "svn": {"ansible_connection": "local", "host_app_id": SVN_APP, "host_branch": "trunk", "host_revision": "623"},
    }}}))
    repository = emu.url.rsplit("/api/v4", 1)[0] + "/v1"
    run = run_playbook(emu, "role_defaults", tmp_path, token=None, base_url="http://127.0.0.1:9/api/v4",
                       inventory=str(inventory), env={"ANSIBLE_SHOW_CUSTOM_STATS": "1"},
                       defaults_base_url=emu.url, defaults_repository_url=repository, defaults_token=ADMIN)
    assert run.rc == 0, run
    results = {}
    for host in ("git", "svn"):
        [path] = tmp_path.glob(f"result-role_defaults-*.json.{host}")
        results[host] = json.loads(path.read_text())["package_id"]
    assert environment(emu)["deployment"]["packageId"] == results["git"]
    stats = run.stdout.split("CUSTOM STATS:")[1]
    assert f'"{GIT_APP}": "{results["git"]}"' in stats and f'"{SVN_APP}": "{results["svn"]}"' in stats, stats
    # a second run changes nothing and writes nothing
    emu.control("DELETE", "requests")
    again = run_playbook(emu, "role_defaults", tmp_path, token=None, base_url="http://127.0.0.1:9/api/v4",
                         inventory=str(inventory), defaults_base_url=emu.url, defaults_repository_url=repository,
                         defaults_token=ADMIN)
    assert again.rc == 0 and write_requests(emu) == [], again
    changed = set(t.split("]")[0] for t in again.stdout.split("TASK [")[1:] if "\nchanged: " in t)
    assert changed == {"Save the hand-off for the test"}, changed

    misspelt = run_playbook(emu, "role", tmp_path, role_vars={"app_id": GIT_APP, "branch": "main", "revision": REV1},
                            extra_args=("-e", "build_and_deploy_brnach=main"))
    assert misspelt.rc != 0 and "does not know build_and_deploy_brnach" in misspelt.stdout, misspelt

"""Many builds and deploys in one task: mx_package's builds and mx_deployment's deployments options, and the role's build
and deploy stages run once for all hosts of a play."""

import json

from harness import (
    ADMIN, FAILING, GIT_APP, NAMESPACE, REV1, REV2, SVN_APP, digest_name, make_mda, packages_of, repository_url,
    run_playbook, write_requests,
)
from test_deployment import manifest


def posts(emu):
    """The build and upload requests sent."""
    return [r["path"] for r in write_requests(emu) if r["method"] == "POST" and r["path"].endswith(("/build", "/packages"))]


def test_builds_start_every_distinct_build_at_once_and_rerun_unchanged(emu, tmp_path):
    src = make_mda(tmp_path / "fleet.mda")
    builds = [{"name": "git-a", "app_id": GIT_APP, "branch": "main", "revision": REV1, "version": "3.0.0"},
              {"name": "git-b", "app_id": GIT_APP.upper(), "branch": "main", "revision": REV1, "version": "3.0.0"},
              {"name": "svn", "app_id": SVN_APP, "branch": "trunk", "revision": "623", "version": "3.0.0"},
              {"name": "upload", "app_id": GIT_APP, "src": src}]
    run = run_playbook(emu, "fleet", tmp_path, builds=builds)
    assert run.rc == 0 and not run.result.get("failed"), run
    assert run.result["changed"] is True and run.result["job"] is None
    got = run.result["builds"]
    assert [b["name"] for b in got] == ["git-a", "git-b", "svn", "upload"]
    assert all(b["failed"] is False and b["package_id"] for b in got), got
    # the two items that ask for the same build share it: the first started it, the second joined it
    assert got[0]["changed"] is True and got[0]["joined_job"] is False
    assert got[1]["changed"] is False and got[1]["joined_job"] is True and got[1]["package_id"] == got[0]["package_id"]
    assert got[0]["model_version"] == "3.0.0.6f995268" and got[2]["model_version"] == "3.0.0.623"
    assert got[3]["package"]["file_name"] == digest_name(src)
    # one request per distinct build, all sent before the first job's package was read: they ran at once
    requests = emu.requests()
    sent = [i for i, r in enumerate(requests) if r["method"] == "POST"]
    first_read = min(i for i, r in enumerate(requests)
                     if r["method"] == "GET" and any(r["path"].endswith("/packages/" + b["package_id"]) for b in got))
    assert len(posts(emu)) == 3 and max(sent) < first_read, [(r["method"], r["path"]) for r in requests]
    assert run.result["diff"]["after"]["svn"]["model_version"] == "3.0.0.623"

    emu.control("DELETE", "requests")
    again = run_playbook(emu, "fleet", tmp_path, builds=builds)
    assert again.rc == 0 and again.result["changed"] is False, again
    assert [b["package_id"] for b in again.result["builds"]] == [b["package_id"] for b in got]
    assert write_requests(emu) == []


def test_builds_in_check_mode_predict_and_write_nothing(emu, tmp_path):
    builds = [{"name": "a", "app_id": GIT_APP, "branch": "main", "revision": REV2, "version": "3.1.0"},
              {"name": "head", "app_id": GIT_APP, "branch": "main", "version": "3.1.1"}]
    run = run_playbook(emu, "fleet", tmp_path, check=True, builds=builds)
    assert run.rc == 0 and run.result["changed"] is True, run
    assert run.result["builds"][0]["model_version"] == "3.1.0.93de884c" and run.result["builds"][0]["job"] is None
    assert run.result["builds"][1]["resolved_revision"]
    assert write_requests(emu) == [] and packages_of(emu) == []


def test_a_failed_build_fails_its_item_and_not_the_others(emu, tmp_path):
    builds = [{"name": "good", "app_id": GIT_APP, "branch": "main", "revision": REV1, "version": "3.2.0"},
              {"name": "bad", "app_id": GIT_APP, "branch": "feature/login-page", "revision": FAILING, "version": "3.2.0"}]
    failed = run_playbook(emu, "fleet", tmp_path, builds=builds)
    assert failed.result["failed"] is True and failed.result["changed"] is True, failed
    assert failed.result["msg"].startswith("1 of 2 builds failed: bad: "), failed.result["msg"]
    good, bad = failed.result["builds"]
    assert good["failed"] is False and good["package_id"] and bad["failed"] is True and bad["changed"] is True
    assert bad["job"]["status"] == "failed" and bad["job"]["log_tail"]

    builds[0]["version"] = "3.2.1"
    lenient = run_playbook(emu, "fleet", tmp_path, builds=builds, fail_on_build_error=False)
    assert lenient.result.get("failed") is not True and lenient.result["changed"] is True, lenient
    assert [b["failed"] for b in lenient.result["builds"]] == [False, True]


def test_bad_items_fail_the_task_before_any_request_naming_each(emu, tmp_path):
    src = make_mda(tmp_path / "bad-items.mda")
    builds = [{"name": "a", "app_id": "not-a-uuid", "branch": "main", "revision": REV1},
              {"name": "a", "app_id": GIT_APP, "branch": "main", "src": src},
              {"name": "c", "app_id": GIT_APP},
              {"name": "d", "app_id": GIT_APP, "src": src, "version": "1.0.0"}]
    run = run_playbook(emu, "fleet", tmp_path, builds=builds)
    msg = run.result["msg"]
    assert run.result["failed"] is True and run.result["changed"] is False, run
    assert "builds[0] (a): app_id" in msg and "builds[1] (a): name a is given to another item too" in msg, msg
    assert "builds[1] (a): give branch (to build) or src (to upload), not both" in msg, msg
    assert "builds[2] (c): give branch" in msg and "builds[3] (d): version go with branch" in msg, msg
    unknown = run_playbook(emu, "fleet", tmp_path, builds=[{"name": "a", "app_id": GIT_APP, "branch": "main",
                                                           "revison": REV1}])
    assert unknown.result["failed"] is True and "revison" in unknown.result["msg"], unknown
    missing = run_playbook(emu, "fleet", tmp_path, builds=[{"name": "a", "app_id": GIT_APP, "src": "nowhere.mda"}])
    assert missing.result["failed"] is True and "builds[0].src nowhere.mda was not found" in missing.result["msg"]
    assert emu.requests() == []


def hosts_inventory(tmp_path, hosts):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {
        name: dict(ansible_connection="local", host_app_id=app, host_branch=branch, host_revision=revision, **extra)
        for name, (app, branch, revision, extra) in hosts.items()}}}))
    return str(inventory)


def test_the_role_builds_once_for_all_hosts_and_fails_only_the_host_of_a_failed_build(emu, tmp_path):
    """Four hosts: two ask for the same build, one for another app's, one for a build that fails; then a re-run."""
    inventory = hosts_inventory(tmp_path, {
        "web1": (GIT_APP, "main", REV1, {"host_namespace_id": NAMESPACE, "host_environment_id": "gitdemo"}),
        "web2": (GIT_APP, "main", REV1, {}),
        "svn": (SVN_APP, "trunk", "623", {}),
        "broken": (GIT_APP, "feature/login-page", FAILING, {})})
    defaults = dict(defaults_base_url=emu.url, defaults_repository_url=repository_url(emu), defaults_token=ADMIN)
    run = run_playbook(emu, "role_defaults", tmp_path, inventory=inventory, **defaults)
    assert run.rc != 0, run
    recap = {line.split()[0]: line for line in run.stdout.split("PLAY RECAP")[1].strip().splitlines()}
    assert "failed=1" in recap["broken"] and all("failed=0" in recap[h] for h in ("web1", "web2", "svn")), recap
    assert "Fail this host when its build failed" in run.stdout.split("fatal: [broken]")[0].rsplit("TASK [", 1)[1]
    results = {}
    for host in ("web1", "web2", "svn"):
        [path] = tmp_path.glob(f"result-role_defaults-*.json.{host}")
        results[host] = json.loads(path.read_text())["package_id"]
    assert results["web1"] == results["web2"] != results["svn"]
    assert manifest(emu)["deployment"]["packageId"] == results["web1"]
    assert len(posts(emu)) == 3  # one build for web1 and web2, one for svn, one that failed
    # the module ran once, for every host
    assert run.stdout.count("TASK [mendix.private_cloud.build_and_deploy : Build or upload the packages") == 1
    took = run.stdout.split("Take this host's build")[1].split("TASK [")[0]
    assert "changed: [web1]" in took and "ok: [web2]" in took and "changed: [svn]" in took, took

    emu.control("DELETE", "requests")
    again = run_playbook(emu, "role_defaults", tmp_path, inventory=inventory, extra_args=("--limit", "web1,web2,svn"),
                         **defaults)
    assert again.rc == 0 and write_requests(emu) == [], again
    changed = set(t.split("]")[0] for t in again.stdout.split("TASK [")[1:] if "\nchanged: " in t)
    assert changed == {"Save the hand-off for the test"}, changed


# ---------------------------------------------------------------------- deployments= and the role's deploy stage
def fleet_packages(emu, tmp_path):
    """A package of each demo app (one fleet build), by name."""
    run = run_playbook(emu, "fleet", tmp_path, builds=[
        {"name": "git", "app_id": GIT_APP, "branch": "main", "revision": REV1},
        {"name": "svn", "app_id": SVN_APP, "branch": "trunk", "revision": "623"}])
    assert run.rc == 0 and not run.result.get("failed"), run
    return {b["name"]: b["package_id"] for b in run.result["builds"]}


def deployments_to(packages):
    return [{"name": "git", "app_id": GIT_APP, "namespace_id": NAMESPACE, "environment_id": "gitdemo",
             "package_id": packages["git"]},
            {"name": "git-again", "app_id": GIT_APP.upper(), "namespace_id": NAMESPACE, "environment_id": "gitdemo",
             "package_id": packages["git"]},
            {"name": "svn", "app_id": SVN_APP, "namespace_id": NAMESPACE, "environment_id": "svndemo",
             "package_id": packages["svn"]}]


def test_deployments_change_every_environment_at_once_and_rerun_unchanged(emu, tmp_path):
    packages = fleet_packages(emu, tmp_path)
    emu.control("DELETE", "requests")
    run = run_playbook(emu, "fleet_deploy", tmp_path, diff=True, deployments=deployments_to(packages))
    requests = emu.requests()
    assert run.rc == 0 and not run.result.get("failed"), run
    assert run.result["changed"] is True and run.result["package_id"] is None and run.result["environment"] is None
    git, again, svn = run.result["deployments"]
    assert [d["name"] for d in run.result["deployments"]] == ["git", "git-again", "svn"]
    assert git["changed"] is True and git["joined"] is False and git["environment"]["package_id"] == packages["git"]
    assert again["changed"] is False and again["joined"] is True and again["jobs"] == git["jobs"]
    assert svn["changed"] is True and svn["failed"] is False and svn["ready"]["polls"] >= 1
    assert run.result["by_name"]["svn"]["package_id"] == packages["svn"]
    assert run.result["diff"]["after"]["git"] == {"package_id": packages["git"]}
    assert manifest(emu)["deployment"]["packageId"] == packages["git"]
    assert manifest(emu, "svndemo", SVN_APP)["deployment"]["packageId"] == packages["svn"]
    # one update per environment, both sent before either environment was last read (its check after Ready): at once
    puts = [i for i, r in enumerate(requests) if r["method"] == "PUT"]
    last_reads = [max(i for i, r in enumerate(requests) if r["method"] == "GET" and r["path"].endswith("/" + env))
                  for env in ("gitdemo", "svndemo")]
    assert len(puts) == 2 and max(puts) < min(last_reads), [(r["method"], r["path"]) for r in requests]

    emu.control("DELETE", "requests")
    rerun = run_playbook(emu, "fleet_deploy", tmp_path, deployments=deployments_to(packages))
    assert rerun.rc == 0 and rerun.result["changed"] is False, rerun
    assert write_requests(emu) == []


def test_deployments_in_check_mode_predict_and_write_nothing(emu, tmp_path):
    packages = fleet_packages(emu, tmp_path)
    emu.control("DELETE", "requests")
    run = run_playbook(emu, "fleet_deploy", tmp_path, check=True, deployments=deployments_to(packages))
    assert run.rc == 0 and run.result["changed"] is True, run
    assert [d["changed"] for d in run.result["deployments"]] == [True, False, True]
    assert run.result["deployments"][2]["environment"]["package_id"] == packages["svn"]
    assert write_requests(emu) == [] and manifest(emu)["deployment"]["packageId"] == ""


def test_a_failed_deploy_fails_its_item_and_not_the_others(emu, tmp_path):
    packages = fleet_packages(emu, tmp_path)
    emu.control("POST", "deploy-faults", {"environmentId": "svndemo", "effect": "fail", "count": 2})
    failed = run_playbook(emu, "fleet_deploy", tmp_path, deployments=deployments_to(packages))
    assert failed.result["failed"] is True and failed.result["changed"] is True, failed
    assert failed.result["msg"].startswith("1 of 3 deployments failed: svn: Deploying package_id="), failed.result["msg"]
    git, dummy, svn = failed.result["deployments"]
    assert git["failed"] is False and git["changed"] is True and svn["failed"] is True and svn["msg"]
    assert manifest(emu)["deployment"]["packageId"] == packages["git"]

    lenient = run_playbook(emu, "fleet_deploy", tmp_path, deployments=deployments_to(packages), fail_on_deploy_error=False)
    assert lenient.result.get("failed") is not True, lenient
    assert [d["failed"] for d in lenient.result["deployments"]] == [False, False, True]
    assert [d["changed"] for d in lenient.result["deployments"]] == [False, False, True]


def test_bad_deployments_fail_the_task_before_any_request_naming_each(emu, tmp_path):
    pkg = "63e50976-34bf-4ce4-820b-9e5f106e5fa5"
    other = "7b0a3c1e-34bf-4ce4-820b-9e5f106e5fa5"
    item = {"app_id": GIT_APP, "namespace_id": NAMESPACE, "environment_id": "gitdemo", "package_id": pkg}
    deployments = [dict(item, name="a", app_id="not-a-uuid"),
                   dict(item, name="a", environment_id="x" * 33),
                   dict(item, name="c", package_id=""),
                   dict(item, name="d", health_check_status=99),
                   dict(item, name="e"),
                   dict(item, name="f", package_id=other),
                   dict(item, name="g", health_check_contains="up")]
    run = run_playbook(emu, "fleet_deploy", tmp_path, deployments=deployments)
    msg = run.result["msg"]
    assert run.result["failed"] is True and run.result["changed"] is False, run
    assert "deployments[0] (a): app_id must be" in msg and "deployments[1] (a): name a is given to another item" in msg
    assert "deployments[1] (a): environment_id must be 1 to 32 characters" in msg, msg
    assert "deployments[2] (c): package_id is missing" in msg and "deployments[3] (d): health_check_status" in msg, msg
    assert "deployments[5] (f): deploys to the same environment as deployments[4] (e)" in msg, msg
    assert "deployments[6] (g): health_check_contains needs health_check_url" in msg, msg
    assert "deployments[4]" not in msg.replace("as deployments[4]", ""), msg
    no_wait = run_playbook(emu, "fleet_deploy", tmp_path, wait=False, rollback_on_failure=True,
                           deployments=[dict(item, name="a")])
    assert "deployments[0] (a): rollback_on_failure=true needs wait=true" in no_wait.result["msg"], no_wait
    unknown = run_playbook(emu, "fleet_deploy", tmp_path, deployments=[dict(item, name="a", enviroment="gitdemo")])
    assert unknown.result["failed"] is True and "enviroment" in unknown.result["msg"], unknown
    assert emu.requests() == []


def test_the_role_deploys_once_for_all_hosts_and_fails_only_the_host_of_a_failed_deploy(emu, tmp_path):
    """Three hosts: two deploy the same build to one environment, one deploys to an environment whose update fails."""
    inventory = hosts_inventory(tmp_path, {
        "web1": (GIT_APP, "main", REV1, {"host_namespace_id": NAMESPACE, "host_environment_id": "gitdemo"}),
        "web2": (GIT_APP, "main", REV1, {"host_namespace_id": NAMESPACE, "host_environment_id": "gitdemo"}),
        "svn": (SVN_APP, "trunk", "623", {"host_namespace_id": NAMESPACE, "host_environment_id": "svndemo"})})
    defaults = dict(defaults_base_url=emu.url, defaults_repository_url=repository_url(emu), defaults_token=ADMIN)
    emu.control("POST", "deploy-faults", {"environmentId": "svndemo", "effect": "fail"})
    run = run_playbook(emu, "role_defaults", tmp_path, inventory=inventory, **defaults)
    assert run.rc != 0, run
    recap = {line.split()[0]: line for line in run.stdout.split("PLAY RECAP")[1].strip().splitlines()}
    assert "failed=1" in recap["svn"] and all("failed=0" in recap[h] for h in ("web1", "web2")), recap
    assert "Fail this host when its deploy failed" in run.stdout.split("fatal: [svn]")[0].rsplit("TASK [", 1)[1]
    assert run.stdout.count("TASK [mendix.private_cloud.build_and_deploy : Deploy the packages of every host") == 1
    took = run.stdout.split("Take this host's deploy")[1].split("TASK [")[0]
    assert "changed: [web1]" in took and "ok: [web2]" in took and "changed: [svn]" in took, took
    [path] = tmp_path.glob("result-role_defaults-*.json.web1")
    assert manifest(emu)["deployment"]["packageId"] == json.loads(path.read_text())["package_id"]
    assert manifest(emu, "svndemo", SVN_APP)["deployment"]["packageId"] == ""
    assert len([r for r in write_requests(emu) if r["method"] == "PUT"]) == 2  # one each: gitdemo, and svndemo's failed

    emu.control("DELETE", "requests")
    again = run_playbook(emu, "role_defaults", tmp_path, inventory=inventory, **defaults)
    assert again.rc == 0, again
    took = again.stdout.split("Take this host's deploy")[1].split("TASK [")[0]
    assert "ok: [web1]" in took and "ok: [web2]" in took and "changed: [svn]" in took, took
    assert [r["path"].rsplit("/", 1)[1] for r in write_requests(emu) if r["method"] == "PUT"] == ["svndemo"]

"""Many builds in one task: mx_package's builds option, and the role's build stage run once for all hosts of a play."""

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

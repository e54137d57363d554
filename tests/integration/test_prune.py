"""mx_package_prune from playbooks: check mode sends no delete, a real prune deletes exactly what it listed, keeps what
environments run, and a re-run is ok; the environment list is paged for real."""

import copy
import json
import time

import pytest
import requests

from harness import ADMIN, FAST, GIT_APP, run_playbook
from mxpc_emulator import seed as seedmod
from mxpc_emulator.testing import EmulatorProcess

OTHER_NAMESPACE = "5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
DAY = 86400


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """An emulator whose git app has five environments in two namespaces, served two to a page."""
    seed = copy.deepcopy(seedmod.DEMO_SEED)
    app = [a for a in seed["apps"] if a["id"] == GIT_APP][0]
    app["namespaces"][0]["environments"] += [
        {"id": "test1", "app_url": "https://test1.example.test", "package_id": None, "instances": 1},
        {"id": "test2", "app_url": "https://test2.example.test", "package_id": None, "instances": 0},
    ]
    app["namespaces"].append({"id": OTHER_NAMESPACE, "cluster_id": seedmod.DEMO_CLUSTER_ID, "name": "prod-namespace",
                              "environments": [
                                  {"id": "acc", "app_url": "https://acc.example.test", "package_id": None, "instances": 1},
                                  {"id": "prod", "app_url": "https://prod.example.test", "package_id": None, "instances": 2}]})
    path = tmp_path_factory.mktemp("seed") / "seed.json"
    path.write_text(json.dumps(seed))
    with EmulatorProcess(args=FAST + ["--seed", str(path), "--max-page-size", "2"]) as emu:
        yield emu


def add(emu, count, branch, ago_days=0.0, step=60.0, uploaded=False):
    """Packages created oldest first; returns their ids newest first."""
    made = emu.control("POST", "packages", {"appId": GIT_APP, "count": count, "branch": branch, "uploaded": uploaded,
                                            "agoSeconds": ago_days * DAY, "stepSeconds": step})
    return list(reversed(made["ids"]))


def put_package(emu, namespace, environment, package_id):
    """Point an environment at a package the way a deploy does (GET, change packageId, PUT), and let the job end."""
    session = requests.Session()
    session.headers["Authorization"] = f"MxToken {ADMIN}"
    url = f"{emu.url}/apps/{GIT_APP}/namespaces/{namespace}/environments/{environment}"
    manifest = session.get(url, timeout=10).json()
    manifest["environment"]["deployment"]["packageId"] = package_id
    assert session.put(url, json=manifest, timeout=10).status_code == 202
    emu.control("POST", "jobs/finish")


def package_ids(emu):
    """Every package id of the git app, paging as the server serves (two a page here)."""
    session = requests.Session()
    session.headers["Authorization"] = f"MxToken {ADMIN}"
    ids, offset = set(), 0
    while True:
        page = session.get(f"{emu.url}/apps/{GIT_APP}/packages", params={"offset": offset}, timeout=10).json()["packages"]
        if not page:
            return ids
        ids.update(p["id"] for p in page)
        offset += len(page)


def deletes(emu):
    return [r["path"].rsplit("/", 1)[1] for r in emu.requests() if r["method"] == "DELETE"]


def environment_pages(emu):
    return [r for r in emu.requests() if r["path"].endswith("/environments")]


def test_prune_check_then_real_then_ok(emu, tmp_path):
    main = add(emu, 6, "main", step=600)  # newest first, ten minutes apart
    feature = add(emu, 3, "feature-x", ago_days=1)
    uploads = add(emu, 2, "my-app", ago_days=2, uploaded=True)
    put_package(emu, OTHER_NAMESPACE, "prod", main[4])  # an old main package runs in production
    emu.control("DELETE", "requests")
    expected = [main[2], main[3], main[5], feature[2]]  # beyond the newest 2 of their branch, not deployed

    checked = run_playbook(emu, "prune", tmp_path, app_id=GIT_APP, keep=2, check=True, diff=True)
    assert checked.rc == 0, checked
    assert checked.result["changed"] is True and checked.result["deleted"] == expected
    assert deletes(emu) == []  # check mode sends no delete
    assert checked.result["deployed"] == [main[4]]
    assert len(environment_pages(emu)) == 4  # five environments, two a page, then the empty page
    decisions = {p["id"]: p for p in checked.result["packages"]}
    assert decisions[main[4]]["reason"] == "an environment of the app runs it (keep_deployed)"
    assert all(decisions[u]["branch"] is None and decisions[u]["action"] == "keep" for u in uploads)
    assert decisions[feature[2]]["branch"] == "feature-x" and decisions[feature[2]]["action"] == "delete"
    removed = [line for line in checked.stdout.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert sorted(line.split('"')[1].split()[0] for line in removed) == sorted(expected)  # the diff lists what goes

    real = run_playbook(emu, "prune", tmp_path, app_id=GIT_APP, keep=2)
    assert real.rc == 0, real
    assert real.result["changed"] is True and real.result["deleted"] == expected
    assert sorted(deletes(emu)) == sorted(expected)
    assert all(job["status"] == "finished" for job in real.result["jobs"])
    left = package_ids(emu)
    assert left == set(main[:2] + [main[4]] + feature[:2] + uploads)
    assert sorted(real.result["kept"]) == sorted(left)

    emu.control("DELETE", "requests")
    again = run_playbook(emu, "prune", tmp_path, app_id=GIT_APP, keep=2)
    assert again.rc == 0 and again.result["changed"] is False and again.result["deleted"] == []
    assert deletes(emu) == []


def test_older_than_takes_packages_of_no_known_branch_and_keep_ids(emu, tmp_path):
    recent = add(emu, 2, "main", step=60)
    old = add(emu, 3, "main", ago_days=40, step=60)
    old_uploads = add(emu, 2, "my-app", ago_days=35, uploaded=True)
    new_upload = add(emu, 1, "my-app", uploaded=True)
    emu.control("DELETE", "requests")
    run = run_playbook(emu, "prune", tmp_path, app_id=GIT_APP, older_than="30d", keep_ids=[old[0].upper()],
                       keep_deployed=False)
    assert run.rc == 0, run
    assert run.result["deleted"] == old_uploads + old[1:]  # newest first
    assert not environment_pages(emu)  # keep_deployed false reads no environment
    assert package_ids(emu) == set(recent + [old[0]] + new_upload)
    # keep and older_than together: beyond the newest 1 of main and older than 1 hour
    both = run_playbook(emu, "prune", tmp_path, app_id=GIT_APP, keep=1, older_than="1h", keep_deployed=False, check=True)
    assert both.result["deleted"] == [old[0]]  # recent[1] is beyond the newest 1 but younger than an hour


def test_bad_input_names_the_field_and_sends_nothing(emu, tmp_path):
    emu.control("DELETE", "requests")
    cases = [
        (dict(keep=2, older_than="30"), "older_than must be a whole number and a unit"),
        (dict(keep=-1), "keep must be 0 or more"),
        (dict(keep=2, parallel=50), "parallel must be 1 to 20"),
        (dict(keep=2, keep_ids=["not-a-uuid"]), "keep_ids item must be a package ID"),
        (dict(), "one of the following is required: keep, older_than"),
    ]
    for options, message in cases:
        run = run_playbook(emu, "prune", tmp_path, app_id=GIT_APP, allow_failure=True, **options)
        assert run.result["failed"] is True and message in run.result["msg"], (options, run.result["msg"])
    assert emu.requests() == []


def test_wait_false_starts_the_deletes_and_a_rerun_finds_them_done(emu, tmp_path):
    ids = add(emu, 5, "main", ago_days=1)
    emu.control("POST", "settings", {"delete_seconds": 2})
    started = time.monotonic()
    run = run_playbook(emu, "prune", tmp_path, app_id=GIT_APP, keep=1, wait=False, parallel=2)
    assert run.rc == 0, run
    assert run.result["deleted"] == ids[1:] and [j["package_id"] for j in run.result["jobs"]] == ids[1:]
    assert all(j["status"] in ("created", "running") for j in run.result["jobs"])
    assert time.monotonic() - started < 15
    emu.control("POST", "jobs/finish")
    again = run_playbook(emu, "prune", tmp_path, app_id=GIT_APP, keep=1)
    assert again.result["changed"] is False and package_ids(emu) == set(ids[:1])


def test_prune_only_the_branches_given(emu, tmp_path):
    doomed = emu.control("POST", "packages", {"appId": GIT_APP, "count": 3, "branch": "nightly", "agoSeconds": 3600})["ids"]
    kept = emu.control("POST", "packages", {"appId": GIT_APP, "count": 2, "branch": "release", "agoSeconds": 3600})["ids"]
    run = run_playbook(emu, "prune", tmp_path, app_id=GIT_APP, keep=1, branches=["nightly"])
    assert run.rc == 0, run
    assert sorted(run.result["deleted"]) == sorted(doomed[:-1])  # the newest nightly is kept by keep=1
    assert set(kept) <= set(run.result["kept"])
    reasons = dict((p["id"], p["reason"]) for p in run.result["packages"])
    assert reasons[kept[0]] == "not of the branches pruned (nightly)"

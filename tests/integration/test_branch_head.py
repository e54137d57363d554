"""The App Repository API from playbooks: mx_branch_info, and builds of a branch's head (mx_package and the role)."""

from harness import GIT_APP, NAMESPACE, NO_MODELREPO, READONLY, SVN_APP, packages_of, run_playbook, write_requests

GIT_MAIN = ["6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4", "93de884c0b1a2d3e4f5061728394a5b6c7d8e9f0",
            "1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d", "e4b1d2c3a4f5e6d7c8b9a0f1e2d3c4b5a6978899"]


def repo_requests(emu):
    """(method, path after the app id, status) of the App Repository API requests. The log's path is decoded: a 200
    for branches/branches/release-1.2 means the name went as one encoded segment (a bare slash is a 404)."""
    return [(r["method"], r["path"].split("/repositories/", 1)[1].split("/", 1)[1], r["status"]) for r in emu.requests()
            if r["path"].startswith("/v1/")]


def builds(emu):
    return [r for r in write_requests(emu) if r["path"].endswith("/packages/build")]


def test_branch_info_lists_every_branch_through_the_cursors(emu, tmp_path):
    emu.control("POST", "settings", {"repo_max_page_size": 1})
    run = run_playbook(emu, "branch_info", tmp_path, app_id=GIT_APP)
    assert run.rc == 0, run
    assert run.result["info"]["type"] == "git" and run.result["changed"] is False
    assert [(b["name"], b["build_branch"]) for b in run.result["branches"]] == [
        ("feature/login-page", "feature/login-page"), ("main", "main"), ("release-2", "release-2")]
    main = run.result["branches"][1]["latest_commit"]
    assert main["id"] == GIT_MAIN[-1] and set(main) >= {"author", "date", "message", "mendix_version", "related_stories"}
    assert [path for _m, path, _s in repo_requests(emu)] == ["info", "branches", "branches", "branches"]


def test_branch_info_maps_svn_branch_names_and_lists_commits(emu, tmp_path):
    run = run_playbook(emu, "branch_info", tmp_path, token=READONLY, app_id=SVN_APP, branch="release-1.2", commits=2)
    assert run.rc == 0, run
    assert run.result["branch"]["name"] == "branches/release-1.2" and run.result["branch"]["build_branch"] == "release-1.2"
    assert [c["id"] for c in run.result["commits"]] == ["623", "601"]
    assert ("GET", "branches/branches/release-1.2", 200) in repo_requests(emu)


def test_branch_info_fails_clearly(emu, tmp_path):
    missing = run_playbook(emu, "branch_info", tmp_path, app_id=GIT_APP, branch="no-such-branch", allow_failure=True)
    assert missing.result["failed"] is True and "no-such-branch" in missing.result["msg"] and "HTTP 404" in missing.result["msg"]
    denied = run_playbook(emu, "branch_info", tmp_path, token=NO_MODELREPO, app_id=GIT_APP, allow_failure=True)
    assert denied.result["status_code"] == 403 and "mx:modelrepository:repo:read" in denied.result["msg"]
    bad = run_playbook(emu, "branch_info", tmp_path, app_id=GIT_APP, commits=3, allow_failure=True)
    assert "required by 'commits': branch" in bad.result["msg"]
    # the bad input is refused before any request: the log holds the first two runs' only
    assert repo_requests(emu) == [("GET", "info", 200), ("GET", "branches/no-such-branch", 404), ("GET", "info", 403)]


def test_build_the_head_then_ok_then_the_new_head(emu, tmp_path):
    first = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", version="2.0.0")
    assert first.rc == 0, first
    assert first.result["changed"] is True and first.result["resolved_revision"] == GIT_MAIN[-1]
    assert first.result["resolved_from"]["branch"] == "main"
    assert first.result["model_version"] == f"2.0.0.{GIT_MAIN[-1][:8]}"
    assert repo_requests(emu) == [("GET", "branches/main", 200)]  # resolving the head costs one request
    again = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", version="2.0.0")
    assert again.result["changed"] is False and again.result["package_id"] == first.result["package_id"]
    assert len(builds(emu)) == 1
    new = emu.control("POST", "commits", {"appId": GIT_APP, "branch": "main"})["revision"]
    checked = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", version="2.0.0", check=True, diff=True)
    assert checked.result["changed"] is True and checked.result["resolved_revision"] == new and len(builds(emu)) == 1
    assert f"revision: {new}" in checked.stdout or f'"revision": "{new}"' in checked.stdout
    third = run_playbook(emu, "build", tmp_path, app_id=GIT_APP, branch="main", version="2.0.0")
    assert third.result["changed"] is True and third.result["resolved_revision"] == new
    assert sorted(p["modelVersion"] for p in packages_of(emu)) == sorted([f"2.0.0.{GIT_MAIN[-1][:8]}", f"2.0.0.{new[:8]}"])
    assert len(builds(emu)) == 2


def test_head_of_an_svn_branch_maps_its_name(emu, tmp_path):
    run = run_playbook(emu, "build", tmp_path, app_id=SVN_APP, branch="release-1.2", version="1.2.0")
    assert run.rc == 0, run
    assert run.result["resolved_revision"] == "623" and run.result["resolved_from"]["branch"] == "branches/release-1.2"
    # vcs auto: the name as given first, then the repository's type, then the SVN name
    assert repo_requests(emu) == [("GET", "branches/release-1.2", 404), ("GET", "info", 200),
                                  ("GET", "branches/branches/release-1.2", 200)]
    assert [p["modelVersion"] for p in packages_of(emu, SVN_APP)] == ["1.2.0.623"]
    emu.control("DELETE", "requests")
    known = run_playbook(emu, "build", tmp_path, app_id=SVN_APP, branch="release-1.2", version="1.2.0", vcs="svn")
    assert known.result["changed"] is False and repo_requests(emu) == [("GET", "branches/branches/release-1.2", 200)]


def test_the_role_builds_the_head_when_the_revision_is_empty(emu, tmp_path):
    role_vars = {"app_id": GIT_APP, "branch": "main", "namespace_id": NAMESPACE, "environment_id": "gitdemo"}
    run = run_playbook(emu, "role", tmp_path, role_vars=role_vars)
    assert run.rc == 0, run
    assert run.result["revision_built"] == GIT_MAIN[-1] and run.result["model_version"] == f"1.0.0.{GIT_MAIN[-1][:8]}"
    again = run_playbook(emu, "role", tmp_path, role_vars=role_vars)
    # Nothing is built or deployed again, and the play says so.
    assert again.rc == 0 and "changed=0 " in again.stdout and again.result == run.result, again
    assert len(builds(emu)) == 1 and len([r for r in write_requests(emu) if "/environments/" in r["path"]]) == 1


def test_the_head_of_an_unknown_app_says_the_app_is_unknown(emu, tmp_path):
    unknown = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"
    run = run_playbook(emu, "build", tmp_path, app_id=unknown, branch="main", allow_failure=True)
    assert run.result["failed"] is True and run.result["msg"].startswith(f"app_id={unknown} is not found or not visible"), run
    assert "no such branch" not in run.result["msg"] and not builds(emu)
    info = run_playbook(emu, "branch_info", tmp_path, app_id=unknown, branch="main", allow_failure=True)
    assert info.result["failed"] is True and f"app_id={unknown} is not found or not visible" in info.result["msg"], info

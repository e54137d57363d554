"""The App Repository API routes: info, branches and commits with cursor paging, encoded names, its error envelope,
its scope, and commits added through the control API (kept across a restart, gone after a reset)."""

import requests

from emutest import ADMIN, GIT_APP, NO_MODELREPO, READONLY, SVN_APP
from mxpc_emulator.testing import EmulatorProcess

GIT_MAIN = ["6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4", "93de884c0b1a2d3e4f5061728394a5b6c7d8e9f0",
            "1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d", "e4b1d2c3a4f5e6d7c8b9a0f1e2d3c4b5a6978899"]


def repo(emu, path, token=ADMIN, **params):
    root = emu.url.rsplit("/api/v4", 1)[0]
    headers = {"Authorization": f"MxToken {token}"} if token else {}
    return requests.get(f"{root}/v1/repositories{path}", headers=headers, params=params, timeout=30)


def every_page(emu, path, limit=None):
    items, cursor, pages = [], None, 0
    while True:
        params = {k: v for k, v in (("limit", limit), ("cursor", cursor)) if v is not None}
        body = repo(emu, path, **params).json()
        pages += 1
        items += body["items"]
        cursor = body["cursors"].get("next")
        if not cursor:
            return items, pages


def test_info_tells_the_repository_type(api, emulator):
    assert repo(emulator, f"/{GIT_APP}/info").json()["type"] == "git"
    body = repo(emulator, f"/{SVN_APP}/info").json()
    assert body["appId"] == SVN_APP and body["type"] == "svn" and body["url"].startswith("https://")


def test_branches_page_by_cursor_with_a_small_page(api, emulator):
    first = repo(emulator, f"/{GIT_APP}/branches").json()
    assert len(first["items"]) == 3 and set(first["cursors"]) == {"first", "last"}  # three branches, pages of three
    names = [b["name"] for b in every_page(emulator, f"/{GIT_APP}/branches")[0]]
    assert names == ["feature/login-page", "main", "release-2"]
    main = [b for b in every_page(emulator, f"/{GIT_APP}/branches")[0] if b["name"] == "main"][0]
    assert main["latestCommit"]["id"] == GIT_MAIN[-1]
    emulator.control("POST", "settings", {"repo_max_page_size": 1})
    items, pages = every_page(emulator, f"/{GIT_APP}/branches", limit=2)
    assert [b["name"] for b in items] == names and pages == 3
    middle = repo(emulator, f"/{GIT_APP}/branches", cursor=repo(emulator, f"/{GIT_APP}/branches").json()["cursors"]["next"]).json()
    assert set(middle["cursors"]) == {"first", "last", "prev", "next"}


def test_svn_branches_other_than_trunk_are_named_branches_slash(api, emulator):
    names = [b["name"] for b in every_page(emulator, f"/{SVN_APP}/branches")[0]]
    assert names == ["branches/release-1.2", "trunk"]
    assert repo(emulator, f"/{SVN_APP}/branches/branches%2Frelease-1.2").json()["latestCommit"]["id"] == "623"
    assert repo(emulator, f"/{SVN_APP}/branches/release-1.2").status_code == 404
    bare = repo(emulator, f"/{SVN_APP}/branches/branches/release-1.2")  # the name's slash not encoded: no such branch
    assert bare.status_code == 404 and bare.json()["errorCode"] == "RS404"
    author = repo(emulator, f"/{SVN_APP}/branches/trunk").json()["latestCommit"]["author"]
    assert author["name"] == author["email"]


def test_commits_are_newest_first_and_page(api, emulator):
    items, pages = every_page(emulator, f"/{GIT_APP}/branches/main/commits")
    assert [c["id"] for c in items] == GIT_MAIN[::-1] and pages == 2
    assert [c["date"] for c in items] == sorted((c["date"] for c in items), reverse=True)
    encoded = every_page(emulator, f"/{GIT_APP}/branches/feature%2Flogin-page/commits")[0]
    assert [c["id"] for c in encoded][0] == "deadbeef00112233445566778899aabbccddeeff"


def test_errors_use_the_repository_envelope_and_name_the_scope(api, emulator):
    assert repo(emulator, f"/{GIT_APP}/info", token=None).json() == {"errorCode": "RS401", "errorMessage": "Invalid token"}
    assert repo(emulator, f"/{GIT_APP}/info", token="no-such-token").status_code == 401
    denied = repo(emulator, f"/{GIT_APP}/info", token=NO_MODELREPO)
    assert denied.status_code == 403 and "mx:modelrepository:repo:read" in denied.json()["errorMessage"]
    assert repo(emulator, f"/{GIT_APP}/info", token=READONLY).status_code == 200
    assert repo(emulator, "/not-a-uuid/info").json()["errorCode"] == "RS400"
    assert repo(emulator, "/00000000-0000-4000-8000-000000000000/info").json()["errorCode"] == "RS404"
    assert repo(emulator, f"/{GIT_APP}/branches/nope").status_code == 404
    assert repo(emulator, f"/{GIT_APP}/branches", cursor="garbage").json()["errorCode"] == "RS400"
    assert repo(emulator, f"/{GIT_APP}/branches", limit=101).status_code == 400


def test_a_commit_added_is_the_new_head_and_can_be_built(api, emulator):
    added = emulator.control("POST", "commits", {"appId": SVN_APP, "branch": "release-1.2", "message": "Fix"})
    assert added == {"appId": SVN_APP, "branch": "branches/release-1.2", "buildBranch": "release-1.2", "revision": "624"}
    head = repo(emulator, f"/{SVN_APP}/branches/branches%2Frelease-1.2").json()["latestCommit"]
    assert head["id"] == "624" and head["message"] == "Fix"
    job = api.build(app=SVN_APP, branch="release-1.2", revision="624").json()
    assert api.wait(job["id"])["status"] == "finished"
    git = emulator.control("POST", "commits", {"appId": GIT_APP, "branch": "main"})
    assert len(git["revision"]) == 40 and repo(emulator, f"/{GIT_APP}/branches/main").json()["latestCommit"]["id"] == git["revision"]
    emulator.control("POST", "reset")
    assert repo(emulator, f"/{GIT_APP}/branches/main").json()["latestCommit"]["id"] == GIT_MAIN[-1]


def test_added_commits_survive_a_restart(tmp_path):
    with EmulatorProcess(data_dir=str(tmp_path)) as emu:
        added = emu.control("POST", "commits", {"appId": GIT_APP, "branch": "main", "revision": "abcdef1234567"})
    with EmulatorProcess(data_dir=str(tmp_path)) as emu:
        assert repo(emu, f"/{GIT_APP}/branches/main").json()["latestCommit"]["id"] == added["revision"]

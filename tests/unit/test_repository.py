"""Unit tests of the App Repository API client: branch names between the two APIs, cursor paging, the head lookup."""

import http.server
import json
import threading

import pytest
from local_server import QuietServer

from ansible_collections.mendix.private_cloud.plugins.module_utils import _repository
from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError


@pytest.mark.parametrize("vcs,build,repo", [
    ("svn", "trunk", "trunk"), ("svn", "release-1.2", "branches/release-1.2"),
    ("svn", "branches/release-1.2", "branches/release-1.2"), ("git", "main", "main"),
    ("git", "feature/login", "feature/login"), (None, "release-1.2", "release-1.2"),
])
def test_branch_names_between_the_two_apis(vcs, build, repo):
    assert _repository.repository_branch_name(vcs, build) == repo
    assert _repository.build_branch_name(vcs, repo) == (build[len("branches/"):] if build.startswith("branches/") else build)


class _RepoServer(object):
    """A real HTTP server with one git or SVN repository: branches paged by cursor, 404 for unknown branches."""

    def __init__(self, vcs, branches, page=2, endless=False):
        outer = self
        self.paths = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def do_GET(self):  # pylint: disable=invalid-name
                outer.paths.append(self.path)
                path, _sep, query = self.path.partition("?")
                params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
                status, body = 200, None
                if path.endswith("/info"):
                    body = {"appId": "a", "type": vcs, "url": "https://example.test/a"}
                elif path.endswith("/branches"):
                    offset = 0 if endless else int(params.get("cursor", "0"))
                    names = sorted(branches)
                    body = {"items": [{"name": n, "latestCommit": {"id": branches[n]}} for n in names[offset:offset + page]],
                            "cursors": {"first": "0"}}
                    if endless or offset + page < len(names):
                        body["cursors"]["next"] = str(offset + page)
                else:
                    name = path.split("/branches/", 1)[1].replace("%2F", "/")
                    if name in branches:
                        body = {"name": name, "latestCommit": {"id": branches[name], "date": "2026-11-01T09:00:00Z"}}
                    else:
                        status, body = 404, {"errorCode": "RS404", "errorMessage": "Branch %s not found" % name}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.client = _repository.RepositoryClient("http://127.0.0.1:%d/v1" % self.server.server_port, "secret-token",
                                                   retries=0)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_every_page_is_followed_until_no_next_cursor():
    server = _RepoServer("git", {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"})
    try:
        assert [b["name"] for b in server.client.branches("app")] == ["a", "b", "c", "d", "e"]
        assert len(server.paths) == 3
    finally:
        server.close()


def test_cursors_that_never_end_are_bounded(monkeypatch):
    monkeypatch.setattr(_repository, "MAX_PAGES", 4)
    server = _RepoServer("git", {"a": "1"}, endless=True)
    try:
        with pytest.raises(MendixApiError, match="more than 4 pages"):
            server.client.branches("app")
    finally:
        server.close()


def test_head_of_an_svn_branch_with_vcs_auto_asks_the_type_once_it_is_not_found():
    server = _RepoServer("svn", {"trunk": "623", "branches/release-1.2": "601"})
    try:
        assert server.client.head("app", "trunk", None)[1:] == ("trunk", {"id": "623", "date": "2026-11-01T09:00:00Z"})
        assert len(server.paths) == 1
        vcs, name, commit = server.client.head("app", "release-1.2", None)
        assert (vcs, name, commit["id"]) == ("svn", "branches/release-1.2", "601")
        assert [p.split("/app/", 1)[1] for p in server.paths[1:]] == ["branches/release-1.2", "info", "branches/branches%2Frelease-1.2"]
        with pytest.raises(MendixApiError, match=r"svn repository has no such branch \(looked up as nope and branches/nope\)"):
            server.client.head("app", "nope", None)
    finally:
        server.close()


def test_a_missing_git_branch_names_the_branch_and_the_api_error():
    server = _RepoServer("git", {"main": "abc1234"})
    try:
        with pytest.raises(MendixApiError) as info:
            server.client.head("app", "mian", "git")
        assert info.value.status == 404 and "Branch mian not found (RS404)" in info.value.message
    finally:
        server.close()

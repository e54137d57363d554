"""The App Repository API routes (`/v1/repositories/...`): repository info, branches with their latest commit, and a
branch's commits, newest first, with cursor paging. Its errors use the API's own envelope ({errorCode, errorMessage}).

Branches come from the seed (a branch's revisions are listed oldest first: the last one is the head) and from
commits added through the control API. A non-default SVN branch is named `branches/<name>` here, while the Build
API's seed and routes name it `<name>`; the default branch is `trunk` (SVN) or as seeded (git).
"""

import base64
import binascii
import datetime
import json
from urllib.parse import unquote

from aiohttp import web

from .common import _is_uuid

REPO = "/v1/repositories"
SCOPE_REPO_READ = "mx:modelrepository:repo:read"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# The seed's commits get dates one day apart, ending on this day, unless the seed gives their metadata.
SEED_HEAD_DATE = datetime.datetime(2026, 11, 1, 9, 0, tzinfo=datetime.timezone.utc)


class RepoError(Exception):
    """An error answered with the App Repository API's envelope."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def response(self):
        return web.json_response({"errorCode": f"RS{self.status}", "errorMessage": self.message}, status=self.status,
                                 headers=self.headers)


def add_routes(router, emu):
    router.add_get(REPO + "/{appId}/info", emu.repo_info)
    router.add_get(REPO + "/{appId}/branches", emu.repo_branches)
    router.add_get(REPO + "/{appId}/branches/{rest:.+}", emu.repo_branch_or_commits)


def repo_branch_name(app, build_name):
    """The App Repository API's name of a branch the Build API (and the seed) names `build_name`."""
    if app["vcs"] == "svn" and build_name != "trunk" and not build_name.startswith("branches/"):
        return "branches/" + build_name
    return build_name


def build_branch_name(app, repo_name):
    """The Build API's (and the seed's) name of a branch the App Repository API names `repo_name`."""
    if app["vcs"] == "svn" and repo_name.startswith("branches/"):
        return repo_name[len("branches/"):]
    return repo_name


def _cursor(kind, offset):
    raw = json.dumps({"k": kind, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(kind, cursor):
    if cursor is None:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if data.get("k") == kind and isinstance(data.get("o"), int) and data["o"] >= 0:
            return data["o"]
    except (ValueError, binascii.Error, AttributeError):
        pass
    raise RepoError(400, f"The cursor {cursor!r} is not valid")


class RepoApi:
    """The App Repository API's handlers; mixed into Emulator, whose store and tokens they use."""

    def repo_authorize(self, request):
        raw = self._raw_token(request)
        token = self.tokens.get(raw) if raw else None
        if token is None:
            raise RepoError(401, "Invalid token")
        if SCOPE_REPO_READ not in token["scopes"]:
            raise RepoError(403, f"Access denied: this operation needs the scope {SCOPE_REPO_READ}")
        return token

    def repo_app(self, request):
        self.repo_authorize(request)
        app_id = request.match_info["appId"]
        if not _is_uuid(app_id):
            raise RepoError(400, f"Invalid app id {app_id!r}")
        app = self.store.apps.get(app_id.lower())
        if app is None:
            raise RepoError(404, f"Repository of app {app_id} not found")
        return app

    def repo_commit(self, app, build_name, index):
        """The commit at `index` (oldest first) of a branch, as the API answers it."""
        revisions = self.store.branches[app["id"]][build_name]
        revision = revisions[index]
        given = self.store.commit_meta(app["id"], revision) or (app.get("commits") or {}).get(revision) or {}
        date = SEED_HEAD_DATE - datetime.timedelta(days=len(revisions) - 1 - index)
        email = "developer@example.com"
        author = given.get("author") or {"name": email if app["vcs"] == "svn" else "Demo Developer", "email": email}
        commit = {
            "id": revision,
            "author": author,
            "date": given.get("date") or date.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "message": given.get("message") or f"Commit {index + 1} on {repo_branch_name(app, build_name)}",
            "relatedStories": given.get("relatedStories") or [],
        }
        if given.get("mendixVersion") or app.get("runtime_version"):
            commit["mendixVersion"] = given.get("mendixVersion") or app["runtime_version"]
        return commit

    def repo_page(self, request, kind, items):
        """A page of `items` by the query's limit and cursor, clamped to the repo_max_page_size setting."""
        raw = request.query.get("limit")
        if raw is None:
            limit = DEFAULT_LIMIT
        else:
            try:
                limit = int(raw)
            except ValueError:
                limit = 0
            if not 1 <= limit <= MAX_LIMIT:
                raise RepoError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}, got {raw!r}")
        limit = min(limit, int(self.store.settings.get("repo_max_page_size", MAX_LIMIT)))
        offset = _offset(kind, request.query.get("cursor"))
        page = items[offset:offset + limit]
        last = max(0, (len(items) - 1) // limit * limit)
        cursors = {"first": _cursor(kind, 0), "last": _cursor(kind, last)}
        if offset > 0:
            cursors["prev"] = _cursor(kind, max(0, offset - limit))
        if offset + limit < len(items):
            cursors["next"] = _cursor(kind, offset + limit)
        return web.json_response({"items": page, "cursors": cursors})

    async def repo_info(self, request):
        app = self.repo_app(request)
        url = (f"https://git.api.mendix.com/{app['id']}.git" if app["vcs"] == "git"
               else f"https://teamserver.sprintr.com/{app['id']}/")
        return web.json_response({"appId": app["id"], "type": app["vcs"], "url": url})

    async def repo_branches(self, request):
        app = self.repo_app(request)
        branches = self.store.branches[app["id"]]
        items = [{"name": repo_branch_name(app, name), "latestCommit": self.repo_commit(app, name, len(revs) - 1)}
                 for name, revs in sorted(branches.items()) if revs]
        return self.repo_page(request, "branches", items)

    async def repo_branch_or_commits(self, request):
        app = self.repo_app(request)
        # The branch name is one URL-encoded segment (branches%2Fdevelopment): read it from the raw path, so that an
        # encoded slash is part of the name and a bare one is not.
        raw = request.raw_path.split("?", 1)[0]
        rest = raw.split("/branches/", 1)[1]
        commits = rest.endswith("/commits")
        if commits:
            rest = rest[:-len("/commits")]
        if "/" in rest or not rest:
            raise RepoError(404, f"Branch {unquote(rest)!r} not found (a branch name is one URL-encoded path segment)")
        name = unquote(rest)
        build_name = build_branch_name(app, name)
        revisions = self.store.branches[app["id"]].get(build_name)
        if not revisions or repo_branch_name(app, build_name) != name:
            raise RepoError(404, f"Branch {name!r} not found")
        if not commits:
            return web.json_response({"name": name, "latestCommit": self.repo_commit(app, build_name, len(revisions) - 1)})
        items = [self.repo_commit(app, build_name, i) for i in range(len(revisions) - 1, -1, -1)]
        return self.repo_page(request, "commits:" + name, items)

# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The App Repository API: repository info, branches and commits, on a host of its own, and the one place where a
branch's name in the Build API is mapped to its name in the App Repository API.

The App Repository API names a non-default SVN branch ``branches/<name>``; the Build API's ``branch`` names what
Team Server calls the branch (``release-1.2``), and the main line ``trunk``. Git branches have one name in both.
Whether the Build API also takes the ``branches/`` form is not documented, so builds are always sent the short name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import Client, MendixApiError, quote

DEFAULT_REPOSITORY_URL = "https://repository.api.mendix.com/v1"
SCOPE_REPO_READ = "mx:modelrepository:repo:read"
SVN_BRANCH_PREFIX = "branches/"
PAGE_LIMIT = 100  # the API's largest page
MAX_PAGES = 1000  # a bound on cursor paging, whatever cursors a server hands out


def repository_branch_name(vcs, branch):
    """The App Repository API's name of the branch the Build API calls ``branch`` (vcs: git, svn or None)."""
    if vcs == "svn" and branch != "trunk" and not branch.startswith(SVN_BRANCH_PREFIX):
        return SVN_BRANCH_PREFIX + branch
    return branch


def build_branch_name(vcs, name):
    """The Build API's name of the branch the App Repository API calls ``name``."""
    if vcs == "svn" and name.startswith(SVN_BRANCH_PREFIX):
        return name[len(SVN_BRANCH_PREFIX):]
    return name


def commit_is(commit, revision):
    """Whether a commit of the App Repository API is ``revision``: its id, or, for a git hash (40 hex digits), a prefix
    of it of 7 characters or more."""
    cid = str((commit or {}).get("id") or "").strip().lower()
    wanted = str(revision or "").strip().lower()
    if not cid or not wanted:
        return False
    if cid == wanted:
        return True
    return len(cid) == 40 and all(c in "0123456789abcdef" for c in cid) and len(wanted) >= 7 and cid.startswith(wanted)


class RepositoryClient(Client):
    """The App Repository API client: the Build API client's transport, retries and deadline, another base URL."""

    def repo_get(self, path, params=None):
        dummy, body, dummy2 = self.request("GET", "/repositories" + path, scopes=SCOPE_REPO_READ, params=params)
        if not isinstance(body, dict):
            raise MendixApiError("GET %s/repositories%s: the answer is not a JSON object" % (self.base_url, path))
        return body

    def info(self, app_id):
        """{appId, type (svn, git, ...), url}."""
        return self.repo_get("/%s/info" % quote(app_id))

    def _pages(self, path, want=None):
        """Items of every page (or the first ``want``), following the ``next`` cursor until there is none."""
        items, cursor = [], None
        for dummy in range(MAX_PAGES):
            params = {"limit": PAGE_LIMIT if want is None else max(1, min(PAGE_LIMIT, want - len(items)))}
            if cursor:
                params["cursor"] = cursor
            body = self.repo_get(path, params)
            page = body.get("items")
            if not isinstance(page, list):
                raise MendixApiError("GET %s/repositories%s: the answer has no items list" % (self.base_url, path))
            items.extend(page)
            cursors = body.get("cursors") if isinstance(body.get("cursors"), dict) else {}
            cursor = cursors.get("next")
            if not cursor or not page or (want is not None and len(items) >= want):
                return items if want is None else items[:want]
        raise MendixApiError("GET %s/repositories%s: more than %d pages; the server's cursors do not end"
                             % (self.base_url, path, MAX_PAGES))

    def branches(self, app_id):
        return self._pages("/%s/branches" % quote(app_id))

    def branch(self, app_id, name, missing_ok=False):
        """{name, latestCommit}; None for a branch that does not exist when ``missing_ok``."""
        try:
            return self.repo_get("/%s/branches/%s" % (quote(app_id), quote(name)))
        except MendixApiError as exc:
            if missing_ok and exc.status == 404:
                return None
            raise

    def app_unknown(self, app_id):
        """Whether the App Repository API knows no repository of the app (its info answers 404)."""
        try:
            self.info(app_id)
        except MendixApiError as exc:
            if exc.status == 404:
                return True
            raise
        return False

    def find_commit(self, app_id, branch, vcs, revision, limit=1000):
        """Whether ``revision`` is a commit of the Build API's ``branch``: (True, name), (False, name) when the branch's
        whole history (up to ``limit`` commits) was read without it, (None, name) when the history is longer than
        ``limit`` commits. A git revision matches a commit whose hash it starts (7 characters at least). Raises
        MendixApiError as head() does (a missing branch or app: 404)."""
        vcs, name, head = self.head(app_id, branch, vcs)
        if commit_is(head, revision):
            return True, name
        items, cursor, seen = [], None, 0
        path = "/%s/branches/%s/commits" % (quote(app_id), quote(name))
        for dummy in range(MAX_PAGES):
            params = {"limit": PAGE_LIMIT}
            if cursor:
                params["cursor"] = cursor
            body = self.repo_get(path, params)
            items = body.get("items") if isinstance(body.get("items"), list) else []
            if any(commit_is(item, revision) for item in items if isinstance(item, dict)):
                return True, name
            seen += len(items)
            cursors = body.get("cursors") if isinstance(body.get("cursors"), dict) else {}
            cursor = cursors.get("next")
            if not cursor or not items:
                return False, name
            if seen >= limit:
                return None, name
        return None, name

    def commits(self, app_id, name, count):
        """The newest ``count`` commits of a branch, newest first."""
        return self._pages("/%s/branches/%s/commits" % (quote(app_id), quote(name)), want=count)

    def head(self, app_id, branch, vcs):
        """The latest commit of the Build API's ``branch``: (vcs, repository branch name, commit).

        With vcs auto (None) the name is tried as given (git, or SVN's trunk) first; when no such branch exists, the
        repository's type is asked for and, for SVN, the ``branches/`` name is tried. One request in the usual case.
        """
        name = repository_branch_name(vcs, branch)
        tried = [name]
        try:
            found = self.branch(app_id, name, missing_ok=vcs is None)
            if found is None:
                vcs = (self.info(app_id).get("type") or "").lower() or None
                alternative = repository_branch_name(vcs, branch)
                if alternative == name:
                    raise MendixApiError("no branch %s" % name, status=404)
                name = alternative
                tried.append(name)
                found = self.branch(app_id, name)
        except MendixApiError as exc:
            if exc.status != 404:
                raise
            if self.app_unknown(app_id):
                raise MendixApiError("app_id=%s is not found or not visible to this token in the App Repository API: "
                                     "check app_id (the App ID shown in the Mendix Portal) and that the token's user is "
                                     "a member of the app. (%s)" % (app_id, exc.message), status=404)
            hint = " The main line of an SVN app is trunk." if vcs == "svn" and "trunk" not in tried else ""
            raise MendixApiError("branch %s: the app's %srepository has no such branch (looked up as %s); list the "
                                 "branches with mendix.private_cloud.mx_branch_info.%s %s"
                                 % (branch, (vcs + " ") if vcs else "", " and ".join(tried), hint, exc.message), status=404)
        commit = found.get("latestCommit") if isinstance(found.get("latestCommit"), dict) else {}
        if not commit.get("id"):
            raise MendixApiError("branch %s: the App Repository API names no latest commit for it" % name)
        return vcs, name, commit

# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""mendix.private_cloud.mx_packages: an Event-Driven Ansible source of new Mendix deployment packages."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import os
import random
import ssl
import tempfile
from typing import Any

import aiohttp

DOCUMENTATION = r"""
---
short_description: Emit an event for each new deployment package of one or more Mendix apps.
description:
  - Polls the package list of each app (Mendix for Private Cloud Build API) every O(interval) seconds and emits one
    event per package it has not emitted before, oldest first.
  - Keeps a high-water mark per app in O(state_file) - the newest package emitted (its C(createdOn) and id) and the
    ids of the last 1000 emitted - and emits a package only when it is newer than the mark, or as new with an id not
    among those. So a listing that comes back empty, short or shifted (offset paging while a package is deleted)
    never makes old packages look new, and a package created while the source was stopped is emitted after its
    restart. A package whose C(createdOn) cannot be read counts on the ids alone.
  - A package is recorded before its event is put on the queue, so a crash between the two can lose that one event,
    never repeat it. The state file is written to a temporary file, flushed to disk (fsync) and renamed over the old
    one, so a crash leaves the old state or the new one.
  - On its first start for an app (no state yet) it starts from now - the packages that exist are recorded, not
    emitted - unless O(emit_existing) is true.
  - Server errors (HTTP 5xx, 429), timeouts and lost connections are logged and retried with a growing pause (up to
    O(max_backoff) seconds). An app the API does not know, or does not let the token read (HTTP 404, 403), is logged and
    retried with the same growing pause, while the other apps are polled as usual. A token the API does not accept
    (HTTP 401, or 403 "The token is not accepted" for every app) stops the source with a message.
  - Events carry the package's branch and revision by the collection's identity rules, the same rules the modules
    use (C(plugins/module_utils/_identity.py), loaded from the collection).
  - The token is sent to O(base_url) only and never logged.
options:
  app_ids:
    description: App IDs (UUIDs) whose packages to watch. O(app_id) takes one.
    type: list
    elements: str
  base_url:
    description: The Build API's base URL; the environment variable E(MENDIX_PRIVATE_CLOUD_URL) when not given.
    type: str
    default: https://privatecloud.mendixcloud.com/api/v4
  token:
    description: A Mendix Personal Access Token with C(mx:privatecloud-build:read); the environment variable
      E(MENDIX_PAT) when not given.
    type: str
  interval:
    description: Seconds between two polls of each app.
    type: float
    default: 60
  state_file:
    description: JSON file that records the emitted packages; put it on a persistent volume in a decision
      environment. Its folder is created when missing.
    type: str
    default: ~/.ansible/mendix_private_cloud/mx_packages_state.json
  emit_existing:
    description: On the first start for an app, emit the packages that already exist (oldest first).
    type: bool
    default: false
  branches:
    description:
      - Only emit packages built from these branches (as far as a package tells its branch; uploads tell none and
        are not emitted when this is set). Every package is still recorded, so that it is never emitted later.
    type: list
    elements: str
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
  ca_path:
    description: PEM file of the CA that signed the server's certificate.
    type: str
  request_timeout:
    description: Seconds one request may take.
    type: float
    default: 30
  max_backoff:
    description: Longest pause in seconds after failed polls.
    type: float
    default: 300
"""

EXAMPLES = r"""
- name: Deploy each new package of main to test
  hosts: all
  sources:
    - mendix.private_cloud.mx_packages:
        app_ids:
          - c533ee0b-f7db-4e62-868b-1192d392ccec
        interval: 60
        state_file: /var/lib/eda/mx_packages.json
  rules:
    - name: A package of main
      condition: event.package.branch == "main"
      action:
        run_playbook:
          name: deploy_to_test.yml
"""

# Event: {"type": EVENT_TYPE, "app_id": ..., "package": {id, app_id, model_version, runtime_version, file_name, file_size,
# created_on, expiry_date, description, branch, revision}}; branch and revision are null when the package does not
# tell them (see mendix.private_cloud.mx_package_prune and the idempotency guide).
EVENT_TYPE = "mendix.private_cloud.package_created"
DEFAULT_BASE_URL = "https://privatecloud.mendixcloud.com/api/v4"
DEFAULT_STATE_FILE = "~/.ansible/mendix_private_cloud/mx_packages_state.json"
PAGE_SIZE = 50
MAX_PAGES = 2000
RECENT_IDS = 1000  # ids of the last emitted packages kept per app, beside the high-water mark
RETRY_STATUSES = frozenset([429, 500, 502, 503, 504])
LOG = logging.getLogger("mendix.private_cloud.mx_packages")


class SourceError(Exception):
    """A problem that retrying cannot solve: bad arguments, a refused token, an unknown app."""


class Transient(Exception):
    """A failed poll worth trying again later."""


class AppUnreadable(Transient):
    """One app cannot be read (unknown, or not visible to the token): logged and tried again later, the others go on."""


def _identity_module():
    """The collection's package identity rules (plugins/module_utils/_identity.py), loaded by path: a source runs
    outside Ansible's collection loader. None when the file is not there (the source then refuses to start)."""
    here = os.path.dirname(os.path.abspath(globals().get("__file__") or "."))
    path = os.path.join(here, "..", "..", "..", "..", "plugins", "module_utils", "_identity.py")
    if not os.path.isfile(path):
        return None
    spec = importlib.util.spec_from_file_location("mendix_private_cloud_identity", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


IDENTITY = _identity_module()


def settings(args: dict[str, Any]) -> dict[str, Any]:
    """The source's arguments, checked, with their defaults and environment fallbacks."""
    apps = args.get("app_ids") or ([args["app_id"]] if args.get("app_id") else [])
    if isinstance(apps, str):
        apps = [apps]
    problems = []
    if not apps:
        problems.append("app_ids is required: the App IDs (UUIDs) whose packages to watch")
    token = args.get("token") or os.environ.get("MENDIX_PAT")
    if not token:
        problems.append("token is required: give the token argument or set MENDIX_PAT")
    base_url = str(args.get("base_url") or os.environ.get("MENDIX_PRIVATE_CLOUD_URL") or DEFAULT_BASE_URL).rstrip("/")
    if not base_url.startswith(("https://", "http://")):
        problems.append("base_url must be an http(s) URL such as %s, got %r" % (DEFAULT_BASE_URL, base_url))
    numbers = {}
    for name, default in (("interval", 60.0), ("request_timeout", 30.0), ("max_backoff", 300.0)):
        try:
            numbers[name] = float(args.get(name, default))
        except (TypeError, ValueError):
            numbers[name] = -1.0
        if numbers[name] <= 0:
            problems.append("%s must be a number of seconds above 0, got %r" % (name, args.get(name)))
    ca_path = args.get("ca_path")
    if ca_path and not os.path.isfile(os.path.expanduser(ca_path)):
        problems.append("ca_path %s is not a file; give a PEM CA bundle" % ca_path)
    branches = args.get("branches")
    if isinstance(branches, str):
        branches = [branches]
    if branches is not None and (not isinstance(branches, list) or not all(str(b).strip() for b in branches)):
        problems.append("branches must be a list of branch names, got %r" % (branches,))
    if IDENTITY is None:
        problems.append("the collection's plugins/module_utils/_identity.py was not found beside the source; install "
                        "the whole collection")
    if problems:
        raise SourceError("mendix.private_cloud.mx_packages: " + "; ".join(problems))
    return dict(apps=[str(a).lower() for a in apps], token=token, base_url=base_url,
                state_file=os.path.expanduser(str(args.get("state_file") or DEFAULT_STATE_FILE)),
                emit_existing=bool(args.get("emit_existing", False)), validate_certs=bool(args.get("validate_certs", True)),
                branches=[str(b) for b in branches] if branches is not None else None,
                ca_path=os.path.expanduser(ca_path) if ca_path else None, **numbers)


def event_of(app_id: str, pkg: dict[str, Any]) -> dict[str, Any]:
    branch, revision = IDENTITY.package_origin(pkg)
    return {
        "type": EVENT_TYPE,
        "app_id": app_id,
        "package": {
            "id": pkg.get("id"), "app_id": app_id, "model_version": pkg.get("modelVersion"),
            "runtime_version": pkg.get("runtimeVersion"), "file_name": pkg.get("fileName"), "file_size": pkg.get("fileSize"),
            "created_on": pkg.get("createdOn"), "expiry_date": pkg.get("expiryDate"), "description": pkg.get("description"),
            "branch": branch, "revision": revision,
        },
    }


def oldest_first(packages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(reversed(IDENTITY.newest_first(packages)))


def created_at(pkg: dict[str, Any]) -> float:
    """createdOn in seconds since the epoch; -inf when it cannot be read."""
    return IDENTITY.created_key(pkg)[0]


class Mark:
    """One app's high-water mark: the newest emitted package's createdOn and the ids of the last emitted ones."""

    def __init__(self, newest: float | None = None, recent: list[str] | None = None):
        self.newest = newest
        self.recent = list(recent or [])[-RECENT_IDS:]
        self._seen = set(self.recent)

    @classmethod
    def load(cls, data: Any) -> Mark:
        if isinstance(data, list):  # version 1: the ids of the packages listed at the last poll, no mark
            return cls(None, [str(i) for i in data])
        newest = data.get("newest")
        return cls(float(newest) if newest is not None else None, [str(i) for i in data.get("recent") or []])

    def dump(self) -> dict[str, Any]:
        return {"newest": self.newest, "recent": self.recent}

    def is_new(self, pkg: dict[str, Any]) -> bool:
        """Not emitted before: an id not among the recent ones, created at or after the mark (ties by time are told
        apart by the ids). Without a mark (a state of version 1), the ids alone tell."""
        if str(pkg.get("id")).lower() in self._seen:
            return False
        stamp = created_at(pkg)
        return self.newest is None or stamp == float("-inf") or stamp >= self.newest

    def add(self, pkg: dict[str, Any]) -> None:
        pid = str(pkg.get("id")).lower()
        stamp = created_at(pkg)
        if stamp != float("-inf") and (self.newest is None or stamp > self.newest):
            self.newest = stamp
        if pid not in self._seen:
            self.recent.append(pid)
            self._seen.add(pid)
        if len(self.recent) > RECENT_IDS:
            for old in self.recent[:-RECENT_IDS]:
                self._seen.discard(old)
            self.recent = self.recent[-RECENT_IDS:]


class State:
    """The high-water mark of each app, in a JSON file replaced whole and durably (temporary file, fsync, rename)."""

    def __init__(self, path: str):
        self.path = path
        self.apps: dict[str, Mark] = {}
        if os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as handle:
                    data = json.load(handle)
                self.apps = {k: Mark.load(v) for k, v in (data.get("apps") or {}).items()}
            except (OSError, ValueError, AttributeError, TypeError) as exc:
                raise SourceError("mendix.private_cloud.mx_packages: state_file %s cannot be read (%s); move it away to "
                                  "start from now" % (path, exc)) from None

    def save(self) -> None:
        folder = os.path.dirname(self.path) or "."
        os.makedirs(folder, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=".mx_packages-", dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump({"version": 2, "apps": {k: v.dump() for k, v in self.apps.items()}}, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        try:  # the rename itself reaches the disk with the folder's entry
            fd = os.open(folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


class Poller:
    """One HTTP session; lists an app's packages through every page."""

    def __init__(self, conf: dict[str, Any], session: aiohttp.ClientSession):
        self.conf = conf
        self.session = session
        self.headers = {"Authorization": "MxToken " + conf["token"], "Accept": "application/json",
                        "User-Agent": "mendix.private_cloud-eda-source"}
        if conf["ca_path"]:
            self.ssl: Any = ssl.create_default_context(cafile=conf["ca_path"])
        else:
            self.ssl = None if conf["validate_certs"] else False

    async def page(self, app_id: str, offset: int) -> tuple[list[dict[str, Any]], int, int]:
        url = "%s/apps/%s/packages" % (self.conf["base_url"], app_id)
        try:
            async with self.session.get(url, params={"offset": offset, "limit": PAGE_SIZE}, headers=self.headers,
                                        ssl=self.ssl, timeout=aiohttp.ClientTimeout(total=self.conf["request_timeout"])) as resp:
                if resp.status in RETRY_STATUSES:
                    raise Transient("GET %s answered HTTP %s" % (url, resp.status))
                if resp.status == 401:
                    raise SourceError("GET %s was refused (HTTP 401): the token is not accepted" % url)
                if resp.status == 403:
                    text = await resp.text()
                    if "token is not accepted" in text:
                        raise SourceError("GET %s was refused (HTTP 403): the token is not accepted" % url)
                    raise AppUnreadable("GET %s was refused (HTTP 403): the token needs the scope "
                                        "mx:privatecloud-build:read and access to app %s" % (url, app_id))
                if resp.status == 404:
                    raise AppUnreadable("GET %s: HTTP 404, the app %s is unknown to the API (check app_ids)" % (url, app_id))
                if resp.status != 200:
                    raise Transient("GET %s answered HTTP %s" % (url, resp.status))
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise Transient("GET %s failed: %s" % (url, type(exc).__name__ if not str(exc) else exc)) from None
        if not isinstance(body, dict) or not isinstance(body.get("packages"), list):
            raise Transient("GET %s: the answer has no packages list" % url)
        items = body["packages"]
        pagination = body.get("pagination") if isinstance(body.get("pagination"), dict) else {}
        size = pagination.get("size") if isinstance(pagination.get("size"), int) else len(items)
        limit = pagination.get("limit") if isinstance(pagination.get("limit"), int) else PAGE_SIZE
        return items, size, max(1, min(limit, PAGE_SIZE))

    async def packages(self, app_id: str) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        offset = 0
        for _dummy in range(MAX_PAGES):
            items, size, limit = await self.page(app_id, offset)
            for item in items:
                if item.get("id"):
                    found.setdefault(str(item["id"]).lower(), item)
            if size < limit or not items:
                return list(found.values())
            offset += len(items)
        raise Transient("the package list of app %s does not end after %d pages" % (app_id, MAX_PAGES))


async def poll_app(poller: Poller, state: State, conf: dict[str, Any], queue: asyncio.Queue, app_id: str) -> int:
    """One poll of one app; returns the number of events emitted."""
    packages = await poller.packages(app_id)
    if app_id not in state.apps:
        mark = state.apps[app_id] = Mark()
        if not conf["emit_existing"]:
            for pkg in oldest_first(packages):
                mark.add(pkg)
            state.save()
            LOG.info("mx_packages: app %s has %d packages; emitting the ones that appear from now on", app_id, len(packages))
            return 0
        state.save()
    mark = state.apps[app_id]
    emitted = 0
    for pkg in oldest_first([p for p in packages if mark.is_new(p)]):
        mark.add(pkg)
        state.save()  # recorded before it is emitted: a crash can lose this event, never repeat it
        if conf["branches"] is not None and IDENTITY.package_origin(pkg)[0] not in conf["branches"]:
            continue
        await queue.put(event_of(app_id, pkg))
        emitted += 1
    return emitted


def pause_after(failures: int, conf: dict[str, Any]) -> float:
    return min(conf["max_backoff"], conf["interval"] * 2 ** min(failures, 16)) * random.uniform(0.8, 1.0)


async def poll_once(poller: Poller, state: State, conf: dict[str, Any], queue: asyncio.Queue,
                    failures: dict[str, int] | None = None, due: dict[str, float] | None = None) -> int:
    """One poll of every app that is due; an app that fails is logged and tried again after a growing pause, the
    others are polled as usual. Returns the number of events emitted."""
    failures = {} if failures is None else failures
    due = {} if due is None else due
    loop = asyncio.get_running_loop()
    emitted = 0
    for app_id in conf["apps"]:
        if due.get(app_id, 0) > loop.time():
            continue
        try:
            emitted += await poll_app(poller, state, conf, queue, app_id)
            failures[app_id] = 0
            due[app_id] = loop.time() + conf["interval"]
        except Transient as exc:
            failures[app_id] = failures.get(app_id, 0) + 1
            pause = pause_after(failures[app_id], conf)
            due[app_id] = loop.time() + pause
            LOG.warning("mx_packages: %s; poll %d of app %s failed in a row, next try in %.1f s", exc, failures[app_id],
                        app_id, pause)
    return emitted


async def main(queue: asyncio.Queue, args: dict[str, Any]) -> None:
    """Poll forever; ansible-rulebook cancels the task to stop the source."""
    conf = settings(args)
    state = State(conf["state_file"])
    failures: dict[str, int] = {}
    due: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:
        poller = Poller(conf, session)
        loop = asyncio.get_running_loop()
        while True:
            await poll_once(poller, state, conf, queue, failures, due)
            await asyncio.sleep(max(0.01, min(due.values(), default=loop.time() + conf["interval"]) - loop.time()))


if __name__ == "__main__":
    # Run on its own, printing the events: MENDIX_PAT=... python mx_packages.py <app id> [base_url]
    import sys

    class _PrintQueue(asyncio.Queue):
        async def put(self, item: Any) -> None:
            print(json.dumps(item), flush=True)

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_PrintQueue(), {"app_ids": sys.argv[1:2], "base_url": (sys.argv[2:3] or [None])[0], "interval": 5,
                                     "emit_existing": True}))

"""The control API under /_emulator/: request log, reset, faults, settings, jobs, test data, health."""

import json
import random
import re
import secrets
import time

from aiohttp import web

from . import repo_api
from .cluster_api import fingerprint
from . import seed as seedmod
from .middleware import FAULT_KINDS, NO_FAULTS

CONTROL = "/_emulator"


def add_routes(router, emu):
    router.add_get(CONTROL + "/requests", emu.control_requests)
    router.add_delete(CONTROL + "/requests", emu.control_clear_requests)
    router.add_post(CONTROL + "/reset", emu.control_reset)
    router.add_get(CONTROL + "/faults", emu.control_get_faults)
    router.add_post(CONTROL + "/faults", emu.control_faults)
    router.add_get(CONTROL + "/health", emu.control_health)
    router.add_get(CONTROL + "/settings", emu.control_get_settings)
    router.add_post(CONTROL + "/settings", emu.control_settings)
    router.add_get(CONTROL + "/jobs", emu.control_jobs)
    router.add_post(CONTROL + "/jobs/finish", emu.control_finish_jobs)
    router.add_post(CONTROL + "/packages", emu.control_add_packages)
    router.add_post(CONTROL + "/commits", emu.control_add_commit)
    router.add_post(CONTROL + "/app-health", emu.control_app_health)
    router.add_get(CONTROL + "/environments", emu.control_environments)
    router.add_get(CONTROL + "/namespaces", emu.control_namespaces)
    router.add_post(CONTROL + "/environment-edits", emu.control_environment_edit)
    router.add_post(CONTROL + "/deploy-faults", emu.control_deploy_fault)


def _public_params(raw):
    """A job's request as the API got it (branch, revision, version, description, file_name...), without internals."""
    params = json.loads(raw)
    return {k: v for k, v in params.items() if k not in ("tmp_path", "manifest")}


class ControlApi:
    """The control API's handlers; mixed into Emulator."""

    async def control_requests(self, _request):
        return web.json_response(list(self.requests))

    async def control_clear_requests(self, _request):
        self.requests.clear()
        return web.json_response({"cleared": True})

    async def control_reset(self, _request):
        self.store.settings.clear()
        self.store.settings.update(self.initial_settings)
        self.store.reset()
        self.requests.clear()
        self.faults = dict(NO_FAULTS)
        self.windows.clear()
        self.unhealthy.clear()
        self.trickling.clear()
        self.edits.clear()
        self.deploy_faults.clear()
        return web.json_response({"reset": True})

    async def control_get_faults(self, _request):
        return web.json_response(self.faults)

    async def control_faults(self, request):
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "body must be JSON"}, status=400)
        faults = dict(NO_FAULTS)
        faults.update(body if isinstance(body, dict) else {})
        try:
            faults["rate"] = float(faults["rate"])
            faults["slow_seconds"] = float(faults["slow_seconds"])
            faults["kinds"] = [str(k) for k in faults["kinds"]]
            faults["methods"] = [str(m).upper() for m in faults["methods"]] if faults["methods"] else None
            faults["count"] = int(faults["count"]) if faults["count"] is not None else None
            faults["retry_after"] = int(faults["retry_after"])
            if faults["path"]:
                re.compile(faults["path"])
        except (TypeError, ValueError, re.error):
            return web.json_response({"error": "rate and slow_seconds are numbers, kinds and methods lists, count a whole "
                                               "number, path a regular expression"}, status=400)
        bad = [k for k in faults["kinds"] if k not in FAULT_KINDS]
        if not 0 <= faults["rate"] <= 1 or bad:
            return web.json_response({"error": f"rate is 0..1 and kinds are among {list(FAULT_KINDS)}; got {bad or faults['rate']}"},
                                     status=400)
        self.faults = faults
        self.fault_rng = random.Random(faults.get("seed"))
        return web.json_response(self.faults)

    async def control_jobs(self, _request):
        rows = self.store.db.execute("SELECT * FROM jobs ORDER BY created_ts").fetchall()
        jobs = [dict(self.job_body(row), kind=row["kind"], appId=row["app_id"], createdAt=row["created_ts"], dueAt=row["due_ts"],
                     pending=row["status"] == "pending", params=_public_params(row["params"]))
                for row in rows]
        return web.json_response(jobs)

    async def control_finish_jobs(self, _request):
        """End every pending job now, as if its time had come (for tests that must not depend on timing)."""
        self.store.db.execute("UPDATE jobs SET due_ts = ? WHERE status = 'pending'", (time.time(),))
        return web.json_response({"finished": self.jobs.finish_due_jobs()})

    async def control_add_packages(self, request):
        """Test data: `count` finished packages for an app at once, without jobs (for paging, retention and load tests).

        {appId, count, version?, branch?, uploaded?, agoSeconds?, stepSeconds?}: file names
        `<branch>-<modelVersion>.mda` (branch `bulk` by default), or with `uploaded` true names as the collection
        gives uploads, `<branch>.sha256-<16 hex digits>.mda`, which tell no branch; the newest was created
        `agoSeconds` ago (0), each older one `stepSeconds` (0.001) before the next."""
        try:
            body = await request.json()
            app = self.store.apps[str(body["appId"]).lower()]
            count = int(body.get("count", 1))
            branch = str(body.get("branch", "bulk"))
            ago, step = float(body.get("agoSeconds", 0)), float(body.get("stepSeconds", 0.001))
            uploaded = bool(body.get("uploaded", False))
        except (ValueError, KeyError, TypeError, AttributeError):
            return web.json_response({"error": "body is {appId: a seeded app, count: N, version?, branch?, uploaded?, "
                                               "agoSeconds?, stepSeconds?}"}, status=400)
        ids = self.store.add_packages(app, count, body.get("version", "0.9.0"), branch=branch, ago=ago, step=step,
                                      uploaded=uploaded)
        return web.json_response({"created": len(ids), "first": ids[0] if ids else None, "last": ids[-1] if ids else None,
                                  "ids": ids})

    async def control_environments(self, _request):
        return web.json_response(self.store.environment_states())

    async def control_namespaces(self, _request):
        """Every namespace: its cluster and the SHA-256 of its stored secret (the secret itself is shown nowhere)."""
        return web.json_response([{"namespaceId": ns_id, "clusterId": cluster_id, "secret": fingerprint(secret)}
                                  for ns_id, (cluster_id, secret) in sorted(self.store.namespace_secrets().items())])

    async def control_environment_edit(self, request):
        """An edit by someone else, made right after the environment's manifest was read `afterReads` times (1: the
        next read) through the API: {appId, namespaceId, environmentId, afterReads?, set: {"container.instances": 3,
        ...}} (dotted paths under `environment`). Tests use it to edit between a client's read and its write."""
        try:
            body = await request.json()
            edit = {"appId": str(body["appId"]).lower(), "namespaceId": str(body["namespaceId"]),
                    "environmentId": str(body["environmentId"]), "afterReads": int(body.get("afterReads", 1)),
                    "set": dict(body["set"])}
            if edit["afterReads"] < 1 or not edit["set"]:
                raise ValueError("nothing to do")
        except (ValueError, KeyError, TypeError, AttributeError):
            return web.json_response({"error": "body is {appId, namespaceId, environmentId, afterReads: N >= 1, set: "
                                               "{dotted.path: value, ...}}"}, status=400)
        if self.store.get_manifest(edit["appId"], edit["namespaceId"], edit["environmentId"]) is None:
            return web.json_response({"error": "no such environment"}, status=404)
        self.edits.append(edit)
        return web.json_response(edit)

    async def control_app_health(self, request):
        """{environmentId, healthy, trickle?}: the environment's app (/_apps/<id>/) answers 503 while unhealthy; with
        trickle true it answers 200 and sends its body a byte a second (a server that holds a client)."""
        try:
            body = await request.json()
            env_id, healthy = str(body["environmentId"]), bool(body["healthy"])
            trickle = bool(body.get("trickle", False))
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "body is {environmentId: an environment id, healthy: true or false, "
                                               "trickle: true or false}"}, status=400)
        if healthy:
            self.unhealthy.discard(env_id)
        else:
            self.unhealthy.add(env_id)
        if trickle:
            self.trickling.add(env_id)
        else:
            self.trickling.discard(env_id)
        return web.json_response({"environmentId": env_id, "healthy": healthy, "trickle": trickle})

    async def control_deploy_fault(self, request):
        """What the next update (PUT) of an environment does instead of what it asks: {environmentId, step: "any" |
        "start" (only a PUT that starts a stopped app: instances from 0 to more), effect: "fail" (the job fails and
        changes nothing) | "late" (the job runs `seconds` long, then changes the environment), seconds?, count?: 1}."""
        try:
            body = await request.json()
            fault = {"environmentId": str(body["environmentId"]), "step": str(body.get("step", "any")),
                     "effect": str(body["effect"]), "seconds": float(body.get("seconds", 30)),
                     "count": int(body.get("count", 1))}
            if fault["step"] not in ("any", "start") or fault["effect"] not in ("fail", "late") or fault["count"] < 1:
                raise ValueError("bad fault")
        except (ValueError, KeyError, TypeError, AttributeError):
            return web.json_response({"error": "body is {environmentId, step: any|start, effect: fail|late, seconds: S, "
                                               "count: N >= 1}"}, status=400)
        self.deploy_faults.append(fault)
        return web.json_response(fault)

    async def control_add_commit(self, request):
        """A new head for a branch: {appId, branch (either API's name), revision?, message?, author?}. Without a
        revision, a new one is made: 40 hex digits for git, the app's highest revision + 1 for SVN."""
        try:
            body = await request.json()
            app = self.store.apps[str(body["appId"]).lower()]
            branch = repo_api.build_branch_name(app, str(body["branch"]))
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "body is {appId: a seeded app, branch: a name, revision?, message?}"}, status=400)
        revision = body.get("revision")
        if revision is None:
            if app["vcs"] == "git":
                revision = secrets.token_hex(20)
            else:
                known = [int(r) for revs in self.store.branches[app["id"]].values() for r in revs if str(r).isdigit()]
                revision = str(max(known, default=0) + 1)
        meta = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        for key in ("message", "author", "mendixVersion", "relatedStories"):
            if body.get(key) is not None:
                meta[key] = body[key]
        self.store.add_commit(app["id"], branch, str(revision), meta)
        return web.json_response({"appId": app["id"], "branch": repo_api.repo_branch_name(app, branch),
                                  "buildBranch": branch, "revision": str(revision)})

    async def control_get_settings(self, _request):
        return web.json_response(self.store.settings)

    async def control_settings(self, request):
        """Change settings (job times, list order, page size, naming, ...) until the next reset."""
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("not an object")
            merged = seedmod.merge_settings(self.store.settings, body, where="settings")
        except (ValueError, seedmod.SeedError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        self.store.settings.update(merged)
        return web.json_response(self.store.settings)

    async def control_health(self, _request):
        return web.json_response({"status": "ok", "apps": len(self.store.apps)})

"""The HTTP side: Build API v4 routes, the Deploy API environment routes, downloads and the control API."""

import asyncio
import collections
import datetime
import hashlib
import hmac
import json
import math
import os
import random
import re
import time
import uuid

from aiohttp import http_exceptions, web

from . import seed as seedmod
from .store import Store

API = "/api/v4"
FAULT_KINDS = ("429", "500", "502", "503", "504", "reset", "slow", "lost_response", "truncate")
# truncate (send half of the body, then drop the connection) is only injected when asked for by name.
DEFAULT_FAULT_KINDS = [k for k in FAULT_KINDS if k != "truncate"]
FILES = "/_files/"
VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
CHUNK = 1024 * 1024
# The request log keeps the newest entries only, so that a week-long soak does not grow without bound.
DEFAULT_REQUEST_LOG_LIMIT = 100_000
NO_FAULTS = {"rate": 0.0, "kinds": list(DEFAULT_FAULT_KINDS), "seed": None, "slow_seconds": 2.0, "methods": None, "path": None,
             "count": None}


def _file_chunks(path, start=0):
    with open(path, "rb") as handle:
        handle.seek(start)
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                return
            yield chunk


class ApiError(Exception):
    """An error answered with the Mendix error envelope."""

    def __init__(self, status, message, params=None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.params = params or []
        self.headers = headers or {}

    def response(self):
        body = {"error": {"code": self.status, "message": self.message}}
        if self.params:
            body["error"]["invalid-params"] = [{"name": n, "reason": r} for n, r in self.params]
        return web.json_response(body, status=self.status, headers=self.headers)


def validation_error(params):
    return ApiError(400, "Request validation errors", params)


def _is_uuid(value):
    try:
        uuid.UUID(value)
    except (TypeError, ValueError):
        return False
    return len(value) == 36


def _discard(path):
    if os.path.exists(path):
        os.unlink(path)


def _bool_query(request, name, strict=True):
    raw = request.query.get(name)
    if raw is None:
        return False
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if strict:
        raise validation_error([(name, f"must be true or false, got {raw!r}")])
    return False


def _int_query(request, name, default, low, high=None):
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise validation_error([(name, f"must be a whole number {span}, got {raw!r}")])
    return value


class Emulator:
    """One emulator: its store, tokens, request log, faults and rate limiter."""

    def __init__(self, data_dir, seed, rate_limit=None, request_log_limit=DEFAULT_REQUEST_LOG_LIMIT):
        self.seed = seed
        self.store = Store(data_dir, seed)
        self.initial_settings = dict(seed["settings"])
        self.tokens = {t["token"]: t for t in seed["tokens"]}
        self.request_log_limit = request_log_limit or None
        self.requests = collections.deque(maxlen=self.request_log_limit)
        self.faults = dict(NO_FAULTS)
        self.fault_rng = random.Random()
        self.rate_limit = rate_limit
        self.windows = collections.defaultdict(collections.deque)
        self._ticker = None

    # ------------------------------------------------------------------ application
    def make_app(self):
        app = web.Application(middlewares=[self.api_middleware])
        r = app.router
        r.add_get(API + "/jobs/{jobId}", self.get_job)
        r.add_get(API + "/apps/{appId}/packages", self.list_packages)
        r.add_post(API + "/apps/{appId}/packages", self.upload_package)
        r.add_post(API + "/apps/{appId}/packages/build", self.build_package)
        r.add_get(API + "/apps/{appId}/packages/{packageId}", self.get_package)
        r.add_delete(API + "/apps/{appId}/packages/{packageId}", self.delete_package)
        env_path = API + "/apps/{appId}/namespaces/{namespaceId}/environments/{environmentId}"
        r.add_get(env_path, self.get_environment)
        r.add_put(env_path, self.put_environment)
        r.add_route("*", API + "/{tail:.*}", self.not_found)
        r.add_get("/_files/{packageId}/{fileName}", self.download)
        r.add_get("/_emulator/requests", self.control_requests)
        r.add_delete("/_emulator/requests", self.control_clear_requests)
        r.add_post("/_emulator/reset", self.control_reset)
        r.add_get("/_emulator/faults", self.control_get_faults)
        r.add_post("/_emulator/faults", self.control_faults)
        r.add_get("/_emulator/health", self.control_health)
        r.add_get("/_emulator/settings", self.control_get_settings)
        r.add_post("/_emulator/settings", self.control_settings)
        r.add_get("/_emulator/jobs", self.control_jobs)
        r.add_post("/_emulator/packages", self.control_add_packages)
        app.on_startup.append(self._start_ticker)
        app.on_cleanup.append(self._stop)
        return app

    async def _start_ticker(self, _app):
        self._ticker = asyncio.create_task(self._tick())

    async def _tick(self):
        while True:
            self.store.finish_due_jobs()
            await asyncio.sleep(0.1)

    async def _stop(self, _app):
        if self._ticker:
            self._ticker.cancel()
        self.store.close()

    # ------------------------------------------------------------------ middleware: log, faults, rate limit, errors
    @web.middleware
    async def api_middleware(self, request, handler):
        download = request.path.startswith(FILES)
        if not download and not request.path.startswith(API + "/") and request.path != API:
            return await handler(request)
        arrived = datetime.datetime.now(datetime.timezone.utc)
        token = self.tokens.get(self._raw_token(request) or "")
        entry = {
            "time": arrived.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "status": None,
            "token": token["name"] if token else None,
            "fault": None,
        }
        if download:
            entry["range"] = request.headers.get("Range")
            entry["authorization"] = "Authorization" in request.headers
        self.requests.append(entry)
        fault = self._pick_fault(request)
        entry["fault"] = fault
        request["fault"] = fault
        if fault == "reset":
            request.transport.abort()
            raise ConnectionResetError("injected reset")
        if fault in ("429", "500", "502", "503", "504"):
            headers = {"Retry-After": "1"} if fault == "429" else {}
            entry["status"] = int(fault)
            return ApiError(int(fault), f"Injected fault: HTTP {fault}", headers=headers).response()
        if fault == "slow":
            await asyncio.sleep(float(self.faults["slow_seconds"]))
        try:
            if not download:  # download URLs are not the API's: no rate limit
                self._check_rate(token)
            response = await handler(request)
        except ApiError as exc:
            response = exc.response()
        except web.HTTPException as exc:
            response = ApiError(exc.status, exc.reason).response()
        if download and isinstance(response, web.FileResponse):
            await response.prepare(request)  # settles 200 or 206 (Range) for the log
        entry["status"] = response.status
        if fault == "lost_response":
            request.transport.abort()
            raise ConnectionResetError("injected lost response")
        if fault == "truncate" and isinstance(response, web.Response) and isinstance(response.body, bytes):
            await self._send_half(request, response.status, response.headers, [response.body])
        return response

    @staticmethod
    async def _send_half(request, status, headers, chunks, total=None):
        """Announce the whole body, send about half of it, then drop the connection (the truncate fault)."""
        chunks = list(chunks) if total is None else chunks
        total = sum(len(c) for c in chunks) if total is None else total
        out = web.StreamResponse(status=status, headers={k: v for k, v in headers.items() if k.lower() != "content-length"})
        out.content_length = total
        await out.prepare(request)
        left = total // 2
        for chunk in chunks:
            if left <= 0:
                break
            await out.write(chunk[:left])
            left -= len(chunk)
        request.transport.close()  # flushes what was written, then closes: the client sees the body end early
        raise ConnectionResetError("injected truncated answer")

    def _pick_fault(self, request):
        faults = self.faults
        rate = float(faults["rate"])
        if rate <= 0 or not faults["kinds"] or faults.get("count") == 0:
            return None
        if faults.get("methods") and request.method not in faults["methods"]:
            return None
        if faults.get("path") and not re.search(faults["path"], request.path):
            return None
        if request.path.startswith(FILES) and not faults.get("path"):
            return None  # downloads are faulted only when a path names them
        if self.fault_rng.random() >= rate:
            return None
        if faults.get("count") is not None:
            faults["count"] -= 1
        return self.fault_rng.choice(faults["kinds"])

    def _check_rate(self, token):
        if not self.rate_limit:
            return
        now = time.monotonic()
        window = self.windows[token["name"] if token else None]
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.rate_limit:
            retry = max(1, math.ceil(window[0] + 60 - now))
            raise ApiError(429, f"Rate limit of {self.rate_limit} requests per minute exceeded; retry after {retry} seconds",
                           headers={"Retry-After": str(retry)})
        window.append(now)

    # ------------------------------------------------------------------ auth
    @staticmethod
    def _raw_token(request):
        header = request.headers.get("Authorization", "")
        parts = header.split(None, 1)
        if len(parts) == 2 and parts[0] == "MxToken" and parts[1].strip():
            return parts[1].strip()
        return None

    def authorize(self, request, any_of=None, all_of=None):
        """401 without a usable header, 403 for an unknown token or one without the scopes the operation needs."""
        raw = self._raw_token(request)
        if raw is None:
            raise ApiError(401, "Unauthorized", [("Authentication", "Missing or invalid Authorization header")])
        token = self.tokens.get(raw)
        if token is None:
            raise ApiError(403, "Forbidden", [("Authentication", "The token is not accepted")])
        scopes = set(token["scopes"])
        if all_of and not set(all_of) <= scopes:
            missing = [s for s in all_of if s not in scopes]
            need = " and ".join(all_of)
            raise ApiError(403, f"Forbidden: this operation needs the scopes {need}; the token lacks {', '.join(missing)}",
                           [("Authentication", f"The token lacks the scope {', '.join(missing)}")])
        if any_of and not set(any_of) & scopes:
            need = " or ".join(any_of)
            raise ApiError(403, f"Forbidden: this operation needs the scope {need}",
                           [("Authentication", f"The token has none of the scopes {', '.join(any_of)}")])
        return token

    def app_or_404(self, request):
        app_id = request.match_info["appId"]
        if not _is_uuid(app_id):
            raise validation_error([("appId", f"must be a UUID, got {app_id!r}")])
        app = self.store.apps.get(app_id.lower())
        if app is None:
            message = f"App {app_id} could not be found"
            raise ApiError(404, message, [("Validation", message)])
        return app

    # ------------------------------------------------------------------ representations
    @staticmethod
    def job_body(row, with_log=False):
        status = row["status"]
        if status == "pending":
            created_phase = min(0.25, (row["due_ts"] - row["created_ts"]) / 10)
            status = "created" if time.time() < row["created_ts"] + created_phase else "running"
        body = {"id": row["id"], "status": status, "details": row["details"]}
        if row["package_id"]:
            body["packageId"] = row["package_id"]
        if row["error"]:
            body["error"] = json.loads(row["error"])
        if with_log and row["log"]:
            body["log"] = {"build": row["log"]}
        return body

    @staticmethod
    def package_body(row):
        body = {
            "id": row["id"],
            "appId": row["app_id"],
            "modelVersion": row["model_version"],
            "runtimeVersion": row["runtime_version"],
            "createdOn": row["created_on"],
            "fileName": row["file_name"],
            "fileSize": row["file_size"],
            "expiryDate": row["expiry_date"],
        }
        if row["description"] is not None:
            body["description"] = row["description"]
        return body

    def job_accepted(self, request, job_id):
        row = self.store.get_job(job_id)
        version = self.store.settings.get("location_version", "v4")
        location = f"{request.scheme}://{request.host}/api/{version}/jobs/{job_id}"
        return web.json_response(self.job_body(row), status=202, headers={"Location": location})

    # ------------------------------------------------------------------ Build API
    async def get_job(self, request):
        self.authorize(request)
        row = self.store.get_job(request.match_info["jobId"])
        if row is None:
            message = f"Job {request.match_info['jobId']} could not be found"
            raise ApiError(404, message, [("Validation", message)])
        if row["kind"] == "deploy":
            self.authorize(request, any_of=[seedmod.SCOPE_DEPLOY_READ, seedmod.SCOPE_DEPLOY_WRITE])
        else:
            self.authorize(request, any_of=[seedmod.SCOPE_BUILD_READ, seedmod.SCOPE_BUILD_WRITE])
        log = request.query.get("log", "").lower() == "true"
        return web.json_response(self.job_body(row, with_log=log))

    async def list_packages(self, request):
        self.authorize(request, any_of=[seedmod.SCOPE_BUILD_READ, seedmod.SCOPE_BUILD_WRITE])
        offset = _int_query(request, "offset", 0, 0)
        limit = min(_int_query(request, "limit", 20, 1, 50), int(self.store.settings["max_page_size"]))
        app = self.app_or_404(request)
        rows = self.store.list_packages(app["id"], offset, limit)
        packages = [self.package_body(r) for r in rows]
        return web.json_response({"packages": packages, "pagination": {"offset": offset, "limit": limit, "size": len(packages)}})

    async def get_package(self, request):
        self.authorize(request, any_of=[seedmod.SCOPE_BUILD_READ, seedmod.SCOPE_BUILD_WRITE])
        want_url = _bool_query(request, "url")
        want_log = _bool_query(request, "log")
        row = self._package_or_404(request)
        body = self.package_body(row)
        if want_log:
            body["buildLog"] = row["build_log"]
        if want_url:
            ttl = int(self.store.settings["url_ttl_seconds"])
            body["url"] = {"location": self.signed_url(request, row, ttl), "ttl": ttl}
        return web.json_response({"package": body})

    def _package_or_404(self, request):
        package_id = request.match_info["packageId"]
        if not _is_uuid(package_id):
            raise validation_error([("packageId", f"must be a UUID, got {package_id!r}")])
        app = self.app_or_404(request)
        row = self.store.get_package(app["id"], package_id.lower())
        if row is None:
            message = f"Package {package_id} could not be found"
            raise ApiError(404, message, [("Validation", message)])
        return row

    async def delete_package(self, request):
        self.authorize(request, all_of=[seedmod.SCOPE_BUILD_WRITE])
        row = self._package_or_404(request)
        job_id = self.store.create_job("delete", row["app_id"], {"package_id": row["id"]})
        return self.job_accepted(request, job_id)

    async def build_package(self, request):
        self.authorize(request, all_of=[seedmod.SCOPE_BUILD_WRITE, seedmod.SCOPE_MODELREPO_WRITE])
        app = self.app_or_404(request)
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise validation_error([("body", "must be a JSON object with branch and revision")]) from None
        if not isinstance(body, dict):
            raise validation_error([("body", "must be a JSON object with branch and revision")])
        problems = []
        for field, high in (("branch", 200), ("revision", 50)):
            value = body.get(field)
            if not isinstance(value, str) or not 1 <= len(value) <= high:
                problems.append((field, f"is required: a string of 1 to {high} characters"))
        version = body.get("version")
        if version is not None and (not isinstance(version, str) or len(version) > 20 or not VERSION_RE.match(version)):
            problems.append(("version", "must be in x.y.z format (for example 1.2.3), at most 20 characters"))
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            problems.append(("description", "must be a string"))
        if problems:
            raise validation_error(problems)
        params = {"branch": body["branch"], "revision": body["revision"], "version": version, "description": description}
        job_id = self.store.create_job("build", app["id"], params)
        return self.job_accepted(request, job_id)

    async def upload_package(self, request):
        self.authorize(request, all_of=[seedmod.SCOPE_BUILD_WRITE])
        app = self.app_or_404(request)
        if not request.content_type.startswith("multipart/"):
            raise validation_error([("body", "must be multipart/form-data with the parts file and fileName")])
        tmp_path = os.path.join(self.store.upload_dir, f"{uuid.uuid4()}.part")
        file_name = None
        got_file = False
        try:
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if part.name == "file":
                    await self._stream_part(part, tmp_path)
                    got_file = True
                elif part.name == "fileName":
                    file_name = (await part.read(decode=True)).decode("utf-8", "replace").strip()
                else:
                    await part.release()
        except (ValueError, AssertionError, LookupError, UnicodeError, http_exceptions.HttpProcessingError) as exc:
            _discard(tmp_path)
            raise validation_error([("body", f"is not a readable multipart/form-data body: {exc}")]) from None
        except BaseException:
            _discard(tmp_path)
            raise
        problems = []
        if not got_file:
            problems.append(("file", "is required: the .mda file as a multipart part named file"))
        if not file_name:
            problems.append(("fileName", "is required: the name of the deployment package file"))
        elif "/" in file_name or "\\" in file_name or len(file_name) > 255:
            problems.append(("fileName", "must be a plain file name without a path, at most 255 characters"))
        if problems:
            _discard(tmp_path)
            raise validation_error(problems)
        if not file_name.lower().endswith(".mda"):
            file_name += ".mda"
        job_id = self.store.create_job("upload", app["id"], {"tmp_path": tmp_path, "file_name": file_name})
        return self.job_accepted(request, job_id)

    @staticmethod
    async def _stream_part(part, path):
        with open(path, "wb") as handle:
            while True:
                chunk = await part.read_chunk(CHUNK)
                if not chunk:
                    break
                handle.write(chunk)

    # ------------------------------------------------------------------ downloads
    def _signature(self, package_id, expires):
        return hmac.new(self.store.hmac_key, f"{package_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def signed_url(self, request, row, ttl):
        expires = int(time.time()) + ttl
        sig = self._signature(row["id"], expires)
        return f"{request.scheme}://{request.host}/_files/{row['id']}/{row['file_name']}?expires={expires}&signature={sig}"

    async def download(self, request):
        package_id = request.match_info["packageId"]
        try:
            expires = int(request.query.get("expires", ""))
        except ValueError:
            expires = 0
        given = request.query.get("signature", "")
        if not hmac.compare_digest(given, self._signature(package_id, expires)):
            return web.Response(status=403, text="The download link is not valid.\n")
        if time.time() > expires:
            return web.Response(status=403, text="The download link has expired; request a new URL with url=true.\n")
        path = self.store.package_path(package_id)
        if not os.path.exists(path):
            return web.Response(status=404, text="The deployment package no longer exists.\n")
        name = request.match_info["fileName"]
        headers = {"Content-Type": "application/octet-stream", "Content-Disposition": f'attachment; filename="{name}"'}
        if request.get("fault") == "truncate":
            size = os.path.getsize(path)
            match = re.match(r"^bytes=(\d+)-$", request.headers.get("Range", ""))
            start = int(match.group(1)) if match and int(match.group(1)) < size else 0
            if start:
                headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
            await self._send_half(request, 206 if start else 200, headers, _file_chunks(path, start), total=size - start)
        return web.FileResponse(path, headers=headers)

    # ------------------------------------------------------------------ Deploy API environments
    def _environment(self, request):
        app = self.app_or_404(request)
        ns, env = request.match_info["namespaceId"], request.match_info["environmentId"]
        manifest = self.store.get_manifest(app["id"], ns, env)
        if manifest is None:
            message = f"Environment {env} could not be found in namespace {ns}"
            raise ApiError(404, message, [("Validation", message)])
        return app, ns, env, manifest

    async def get_environment(self, request):
        self.authorize(request, any_of=[seedmod.SCOPE_DEPLOY_READ, seedmod.SCOPE_DEPLOY_WRITE])
        app, ns, env, manifest = self._environment(request)
        if self.store.pending_deploy(app["id"], ns, env):
            manifest["environment"]["container"]["state"] = "Processing"
        return web.json_response(manifest)

    async def put_environment(self, request):
        self.authorize(request, all_of=[seedmod.SCOPE_DEPLOY_WRITE])
        app, ns, env, _stored = self._environment(request)
        if request.content_type != "application/json":
            raise validation_error([("Content-Type", "must be application/json")])
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise validation_error([("body", "must be a JSON environment manifest")]) from None
        problems = check_manifest(body, env)
        if problems:
            raise validation_error(problems)
        job_id = self.store.create_job("deploy", app["id"], {"namespace_id": ns, "env_id": env, "manifest": body})
        return self.job_accepted(request, job_id)

    async def not_found(self, request):
        raise ApiError(404, f"No route for {request.method} {request.path}", [("Validation", "Unknown API path")])

    # ------------------------------------------------------------------ control API
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
        jobs = [dict(self.job_body(row), kind=row["kind"], appId=row["app_id"], createdAt=row["created_ts"], dueAt=row["due_ts"])
                for row in rows]
        return web.json_response(jobs)

    async def control_add_packages(self, request):
        """Test data: `count` finished packages for an app at once, without jobs (for paging and load tests)."""
        try:
            body = await request.json()
            app = self.store.apps[str(body["appId"]).lower()]
            count = int(body.get("count", 1))
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "body is {appId: a seeded app, count: N}"}, status=400)
        ids = self.store.add_packages(app, count, body.get("version", "0.9.0"))
        return web.json_response({"created": len(ids), "first": ids[0] if ids else None, "last": ids[-1] if ids else None})

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


def check_manifest(body, env_id):
    """Shape checks of a PUT manifest; a list of (field, reason)."""
    if not isinstance(body, dict):
        return [("body", "must be a JSON environment manifest")]
    problems = []
    if not isinstance(body.get("manifestVersion"), str):
        problems.append(("manifestVersion", "is required, for example 2.0.0"))
    env = body.get("environment")
    if not isinstance(env, dict):
        return problems + [("environment", "is required: the environment manifest")]
    if env.get("id") != env_id:
        problems.append(("environment.id", f"must be the environment of the path, {env_id!r}"))
    deployment = env.get("deployment")
    if not isinstance(deployment, dict):
        problems.append(("environment.deployment", "is required, with appUrl and packageId"))
    else:
        for key in ("appUrl", "packageId"):
            if not isinstance(deployment.get(key), str) or not deployment.get(key):
                problems.append((f"environment.deployment.{key}", "is required: a non-empty string"))
    container = env.get("container")
    instances = container.get("instances") if isinstance(container, dict) else None
    if not isinstance(instances, int) or isinstance(instances, bool) or not 0 <= instances <= 10:
        problems.append(("environment.container.instances", "is required: a whole number from 0 to 10"))
    for key in ("properties", "provider"):
        if not isinstance(env.get(key), dict):
            problems.append((f"environment.{key}", "is required"))
    if not isinstance(env.get("services", []), list):
        problems.append(("environment.services", "must be a list"))
    return problems

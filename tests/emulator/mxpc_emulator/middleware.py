"""Middleware of the API routes: the request log, fault injection, the rate limit, errors as the Mendix envelope,
and authentication (the token and its scopes)."""

import asyncio
import collections
import datetime
import json
import math
import random
import re
import time

from aiohttp import web

from .common import API, APPS, CDN, FILES, ApiError, _is_uuid
from .repo_api import REPO, RepoError

# Faults named by a status answer it before the request is carried out. The acted_ ones carry the request out first and
# then answer the status instead of the route's answer, as a gateway does when the API's answer reaches it too late
# (504), broken (502) or while it goes down (503); acted_429 is a proxy's rate limit counted after forwarding.
ACTED_FAULTS = {"acted_429": 429, "acted_502": 502, "acted_503": 503, "acted_504": 504}
FAULT_KINDS = ("429", "500", "502", "503", "504", "reset", "slow", "lost_response", "truncate", "missing_fields",
               "empty_list", "shifted_list", *ACTED_FAULTS)
# truncate (send half of the body, then drop the connection), missing_fields (answer without fields a client relies
# on: a job's id and packageId, a manifest's deployment and container) and acted_429 (which no documented server does)
# are only injected when asked for by name.
# empty_list (a package list answered 200 with no packages) and shifted_list (a package list page without its first
# item, as offset paging shows it while a package is deleted) are only injected when asked for by name too.
DEFAULT_FAULT_KINDS = [k for k in FAULT_KINDS if k not in ("truncate", "missing_fields", "acted_429", "empty_list",
                                                           "shifted_list")]
MISSING_FIELDS = {"job": ("id", "packageId"), "environment": ("deployment", "container")}
# The request log keeps the newest entries only, so that a week-long soak does not grow without bound.
DEFAULT_REQUEST_LOG_LIMIT = 100_000
NO_FAULTS = {"rate": 0.0, "kinds": list(DEFAULT_FAULT_KINDS), "seed": None, "slow_seconds": 2.0, "methods": None, "path": None,
             "count": None, "retry_after": 1}


class Middleware:
    """The emulator's middleware and authentication; mixed into Emulator, whose state it uses."""

    def init_middleware(self, tokens, rate_limit, request_log_limit, rate_window=60):
        self.tokens = {t["token"]: t for t in tokens}
        self.request_log_limit = request_log_limit or None
        self.requests = collections.deque(maxlen=self.request_log_limit)
        self.faults = dict(NO_FAULTS)
        self.fault_rng = random.Random()
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.windows = collections.defaultdict(collections.deque)

    @web.middleware
    async def api_middleware(self, request, handler):
        # download URLs (packages, mxpc-cli) and the environments' apps: logged and open to faults, but not the API (no
        # token, no rate limit)
        download = request.path.startswith((FILES, APPS, CDN))
        repo = request.path.startswith(REPO + "/")
        if not download and not repo and not request.path.startswith(API + "/") and request.path != API:
            return await handler(request)
        error_class = RepoError if repo else ApiError
        arrived = datetime.datetime.now(datetime.timezone.utc)
        clock = time.monotonic()
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
            return self._drop(request)
        if fault in ("429", "500", "502", "503", "504"):
            headers = {"Retry-After": str(self.faults.get("retry_after", 1))} if fault == "429" else {}
            entry["status"] = int(fault)
            return error_class(int(fault), f"Injected fault: HTTP {fault}", headers=headers).response()
        if fault == "slow":
            await asyncio.sleep(float(self.faults["slow_seconds"]))
        try:
            if not download:  # download URLs are not the API's: no rate limit
                self._check_rate(token)
            response = await handler(request)
        except (ApiError, RepoError) as exc:
            response = exc.response()
        except web.HTTPException as exc:  # the router's 404 and 405, in the API's envelope
            headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
            if exc.status == 405 and request.path.endswith("/packages/build"):
                headers["Allow"] = "POST"  # not the methods of /packages/{packageId}, whose pattern also matches
            message = {404: f"No route for {request.method} {request.path}",
                       405: f"Method {request.method} is not allowed here; allowed: {headers.get('Allow', '')}"}
            response = error_class(exc.status, message.get(exc.status, exc.reason), headers=headers).response()
        entry["status"] = request.get("download_status") or response.status  # a file answer's 200 or 206
        # From the request's headers to the end of the answer: an upload's body arriving, a download's file sent.
        entry["seconds"] = round(time.monotonic() - clock, 6)
        if fault in ACTED_FAULTS:
            entry["acted_status"] = entry["status"]  # what the route answered, before the fault replaced it
            entry["status"] = ACTED_FAULTS[fault]
            headers = {"Retry-After": str(self.faults.get("retry_after", 1))} if fault == "acted_429" else {}
            return error_class(ACTED_FAULTS[fault], f"Injected fault: HTTP {ACTED_FAULTS[fault]} after the request was carried "
                               "out", headers=headers).response()
        if fault == "lost_response":
            return self._drop(request)
        if fault == "truncate" and isinstance(response, web.Response) and isinstance(response.body, bytes):
            return await self._send_half(request, response.status, response.headers, [response.body])
        if fault == "missing_fields" and isinstance(response, web.Response) and isinstance(response.body, bytes):
            return self._without_fields(response)
        if fault in ("empty_list", "shifted_list") and isinstance(response, web.Response) and isinstance(response.body, bytes):
            return self._cut_list(response, fault)
        return response

    @staticmethod
    def _cut_list(response, fault):
        """A package list page with no items (empty_list) or without its first one (shifted_list); other answers as
        they are."""
        try:
            body = json.loads(response.body)
        except ValueError:
            return response
        if not isinstance(body, dict) or not isinstance(body.get("packages"), list):
            return response
        body["packages"] = [] if fault == "empty_list" else body["packages"][1:]
        if isinstance(body.get("pagination"), dict):
            body["pagination"]["size"] = len(body["packages"])
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
        return web.json_response(body, status=response.status, headers=headers)

    @staticmethod
    def _without_fields(response):
        """The answer without the fields a client relies on (the missing_fields fault)."""
        try:
            body = json.loads(response.body)
        except ValueError:
            return response
        if isinstance(body, dict) and isinstance(body.get("environment"), dict):
            for key in MISSING_FIELDS["environment"]:
                body["environment"].pop(key, None)
        elif isinstance(body, dict) and "status" in body:
            for key in MISSING_FIELDS["job"]:
                body.pop(key, None)
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
        return web.json_response(body, status=response.status, headers=headers)

    @staticmethod
    def _drop(request):
        """Drop the connection without an answer. aiohttp finds the transport gone when it would send the returned
        response, and lets the request go quietly (raising here instead would log an error for every fault)."""
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=204)

    @staticmethod
    async def _send_whole(request, status, headers, chunks, total):
        """Send a file's answer from the handler itself, so that the request log's `seconds` covers the transfer."""
        out = web.StreamResponse(status=status, headers={k: v for k, v in headers.items() if k.lower() != "content-length"})
        out.content_length = total
        await out.prepare(request)
        for chunk in chunks:
            await out.write(chunk)
        await out.write_eof()
        return out

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
        if request.transport is not None:
            request.transport.close()  # flushes what was written, then closes: the client sees the body end early
        return out

    def _pick_fault(self, request):
        faults = self.faults
        rate = float(faults["rate"])
        if rate <= 0 or not faults["kinds"] or faults.get("count") == 0:
            return None
        if faults.get("methods") and request.method not in faults["methods"]:
            return None
        if faults.get("path") and not re.search(faults["path"], request.path):
            return None
        if (request.path.startswith(FILES) or request.path.startswith(APPS)) and not faults.get("path"):
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
        while window and window[0] <= now - self.rate_window:
            window.popleft()
        if len(window) >= self.rate_limit:
            retry = max(1, math.ceil(window[0] + self.rate_window - now))
            per = "minute" if self.rate_window == 60 else f"{self.rate_window:g} seconds"
            raise ApiError(429, f"Rate limit of {self.rate_limit} requests per {per} exceeded; retry after {retry} seconds",
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
        # An appId that is no UUID names no app: 404, which every route documents (400 only some do).
        app = self.store.apps.get(app_id.lower()) if _is_uuid(app_id) else None
        if app is None:
            message = f"App {app_id} could not be found"
            raise ApiError(404, message, [("Validation", message)])
        return app

"""What every part of the emulator shares: paths, the Mendix error envelope, and query helpers."""

import os
import re
import uuid

from aiohttp import web

API = "/api/v4"
FILES = "/_files/"
APPS = "/_apps/"  # the environments' apps, as their users reach them
CDN = "/_cdn/"  # files the API redirects to (mxpc-cli), as a CDN serves them: no token
VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
CHUNK = 1024 * 1024


def _file_chunks(path, start=0, length=None):
    """A file's bytes from `start`, `length` of them (None: to the end), in blocks."""
    left = length
    with open(path, "rb") as handle:
        handle.seek(start)
        while left is None or left > 0:
            chunk = handle.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
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

"""Build API v4 routes: packages (list, get, build, upload, delete), jobs, and the package files behind download URLs."""

import hashlib
import hmac
import json
import os
import re
import time
import uuid

from aiohttp import http_exceptions, web

from . import seed as seedmod
from .common import API, CHUNK, VERSION_RE, ApiError, _bool_query, _discard, _file_chunks, _int_query, _is_uuid, validation_error
from .store import ENVIRONMENT_JOBS, PLATFORM_JOBS


def add_routes(router, emu):
    router.add_get(API + "/jobs/{jobId}", emu.get_job)
    router.add_get(API + "/apps/{appId}/packages", emu.list_packages)
    router.add_post(API + "/apps/{appId}/packages", emu.upload_package)
    router.add_post(API + "/apps/{appId}/packages/build", emu.build_package)
    router.add_get(API + "/apps/{appId}/packages/{packageId}", emu.get_package)
    router.add_delete(API + "/apps/{appId}/packages/{packageId}", emu.delete_package)
    router.add_get("/_files/{packageId}/{fileName}", emu.download)


class BuildApi:
    """The Build API's handlers; mixed into Emulator."""

    def job_body(self, row, with_log=False):
        status = row["status"]
        if status == "failed" and self.store.settings.get("failed_job_status") == "created":
            status = "created"  # the spec's example: an error next to status created
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
        row = self.jobs.get(job_id)
        version = self.store.settings.get("location_version", "v4")
        location = f"{request.scheme}://{request.host}/api/{version}/jobs/{job_id}"
        return web.json_response(self.job_body(row), status=202, headers={"Location": location})

    async def get_job(self, request):
        self.authorize(request)
        row = self.jobs.get(request.match_info["jobId"])
        if row is None:
            message = f"Job {request.match_info['jobId']} could not be found"
            raise ApiError(404, message, [("Validation", message)])
        if row["kind"] in ENVIRONMENT_JOBS + PLATFORM_JOBS:
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
        if package_id == "build":  # /packages/build takes POST only; it is not a package id
            raise ApiError(405, f"Method {request.method} is not allowed here; allowed: POST", headers={"Allow": "POST"})
        app = self.app_or_404(request)
        # Not a UUID: no such package. (404 is the status the spec documents for these routes; it has no 400.)
        row = self.store.get_package(app["id"], package_id.lower()) if _is_uuid(package_id) else None
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
        if "version" in body and (not isinstance(version, str) or len(version) > 20 or not VERSION_RE.match(version)):
            problems.append(("version", "must be in x.y.z format (for example 1.2.3), at most 20 characters"))
        description = body.get("description")
        if "description" in body and not isinstance(description, str):
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
        size = os.path.getsize(path)
        # One range, "bytes=N-" or "bytes=N-M"; any other Range header is ignored and the whole file sent, as HTTP allows.
        match = re.match(r"^bytes=(\d+)-(\d*)$", request.headers.get("Range", ""))
        start, end = 0, size - 1
        if match and int(match.group(1)) < size and (not match.group(2) or int(match.group(2)) >= int(match.group(1))):
            start, end = int(match.group(1)), min(size - 1, int(match.group(2))) if match.group(2) else size - 1
        ranged = (start, end) != (0, size - 1)
        status = request["download_status"] = 206 if ranged else 200
        if ranged:
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        send = self._send_half if request.get("fault") == "truncate" else self._send_whole
        length = end - start + 1
        try:
            return await send(request, status, headers, _file_chunks(path, start, length), total=length)
        except ConnectionError:  # the client went away mid-way: nothing left to answer
            return self._drop(request)

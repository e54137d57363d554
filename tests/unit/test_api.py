"""Unit tests of the HTTP client's rules: retries per method and status, error mapping, the streaming body."""

import os
import tracemalloc

import pytest
from urllib3.exceptions import NewConnectionError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import MaxRetryError

from ansible_collections.mendix.private_cloud.plugins.module_utils import _api


@pytest.mark.parametrize("method,status,retried", [
    ("GET", 429, True), ("GET", 502, True), ("GET", 503, True), ("GET", 504, True), ("GET", 500, True),
    ("GET", 404, False), ("DELETE", 503, True), ("PUT", 502, True),
    ("POST", 429, True), ("POST", 502, False), ("POST", 503, False), ("POST", 504, False), ("POST", 500, False),
])
def test_status_retry_rules(method, status, retried):
    assert _api.make_retry(3).is_retry(method, status, has_retry_after=False) is retried


def test_post_read_error_is_not_retried():
    retry = _api.make_retry(3)
    with pytest.raises(ProtocolError):
        retry.increment(method="POST", url="/x", error=ProtocolError("Connection aborted."))


def test_get_read_error_is_retried():
    retry = _api.make_retry(3)
    nxt = retry.increment(method="GET", url="/x", error=ReadTimeoutError(None, "/x", "read timed out"))
    assert nxt.read == 2


def test_connect_error_is_retried_even_for_post():
    retry = _api.make_retry(2)
    error = NewConnectionError(None, "Connection refused")
    nxt = retry.increment(method="POST", url="/x", error=error)
    assert nxt.connect == 1
    nxt = nxt.increment(method="POST", url="/x", error=error)
    with pytest.raises(MaxRetryError):
        nxt.increment(method="POST", url="/x", error=error)


def test_backoff_is_jittered_and_capped():
    retry = _api.make_retry(10, backoff_factor=1, backoff_max=4)
    for _attempt in range(6):
        retry = retry.increment(method="GET", url="/x", error=ReadTimeoutError(None, "/x", "t"))
    values = {retry.get_backoff_time() for _attempt in range(50)}
    assert all(2 <= v <= 4 for v in values)
    assert len(values) > 10


def test_error_message_from_envelope_names_fields():
    body = {"error": {"code": 400, "message": "Request validation errors",
                      "invalid-params": [{"name": "branch", "reason": "is required"}]}}
    msg = _api.error_message("POST", "/apps/a/packages/build", 400, body)
    assert "HTTP 400" in msg and "branch: is required" in msg and "Request validation errors" in msg


def test_error_message_401_and_403_say_what_to_do():
    assert "MENDIX_PAT" in _api.error_message("GET", "/x", 401, {"error": {"code": 401, "message": "Unauthorized"}})
    msg = _api.error_message("POST", "/x", 403, {"error": {"code": 403, "message": "Forbidden"}}, scopes=_api.SCOPES_BUILD)
    assert "mx:privatecloud-build:write and mx:modelrepository:write" in msg


def test_error_message_without_json_body():
    assert _api.error_message("GET", "/x", 502, None) == "GET /x failed with HTTP 502"


def test_streaming_body_length_and_content(tmp_path):
    path = tmp_path / "a.mda"
    path.write_bytes(b"PK" + os.urandom(3000))
    body = _api.StreamingMultipart(str(path), [("fileName", "a.mda")], chunk_size=1000, boundary="b0undary")
    data = b"".join(body)
    assert len(data) == len(body)
    assert data.startswith(b'--b0undary\r\nContent-Disposition: form-data; name="fileName"\r\n\r\na.mda\r\n')
    assert path.read_bytes() in data and data.endswith(b"\r\n--b0undary--\r\n")
    assert b"".join(body) == data  # iterable again, for a retried request
    assert body.content_type == "multipart/form-data; boundary=b0undary"


def test_streaming_body_memory_does_not_grow_with_file_size(tmp_path):
    peaks = []
    for size in (16, 256):
        path = tmp_path / f"{size}.mda"
        with open(path, "wb") as handle:
            handle.truncate(size * 1024 * 1024)
        body = _api.StreamingMultipart(str(path), [("fileName", "x")])
        tracemalloc.start()
        total = sum(len(chunk) for chunk in body)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert total == len(body)
    assert peaks[1] < 3 * _api.CHUNK_SIZE
    assert peaks[1] < peaks[0] * 1.5 + 65536


def test_reason_does_not_include_headers():
    exc = _api.requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))
    assert "Authorization" not in _api._reason(exc)


class _FileServer(object):
    """A small real HTTP server: the package GET of the API and a file URL that ignores Range and breaks off once."""

    def __init__(self, data, break_first=True, content_range=None, announced=None):
        import http.server  # pylint: disable=import-outside-toplevel
        import threading  # pylint: disable=import-outside-toplevel

        outer = self
        self.data = data
        self.announced = len(data) if announced is None else announced
        self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def do_GET(self):  # pylint: disable=invalid-name
                outer.seen.append((self.path, self.headers.get("Range"), self.headers.get("Authorization")))
                if self.path.startswith("/api/v4/apps/"):
                    body = ('{"package": {"id": "p", "fileSize": %d, "url": {"location": "http://127.0.0.1:%d/file?sig=1", '
                            '"ttl": 900}}}' % (outer.announced, outer.port)).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                first = len([s for s in outer.seen if s[0].startswith("/file")]) == 1
                if content_range and not first:
                    self.send_response(206)
                    self.send_header("Content-Range", content_range)
                else:
                    self.send_response(200)  # Range ignored
                self.send_header("Content-Length", str(len(outer.data)))
                self.end_headers()
                if first and break_first:
                    self.wfile.write(outer.data[: len(outer.data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(outer.data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_download_starts_over_when_the_server_ignores_range(tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    server = _FileServer(data)
    try:
        client = _api.Client("http://127.0.0.1:%d/api/v4" % server.port, "secret-token", retries=2)
        with open(str(tmp_path / "out"), "wb") as handle:
            package, resumes = client.download_package("a", "p", handle, sleep=lambda s: None)
        assert resumes == 1 and package["fileSize"] == len(data)
        assert (tmp_path / "out").read_bytes() == data
        files = [s for s in server.seen if s[0].startswith("/file")]
        assert files[0][1] is None and files[1][1].startswith("bytes=")  # asked to resume, got 200: started over
        assert all(s[2] is None for s in files)  # the token never goes to the download URL
        assert all(s[2] == "MxToken secret-token" for s in server.seen if s[0].startswith("/api/"))
    finally:
        server.close()


def test_download_refuses_a_resume_at_the_wrong_offset(tmp_path):
    data = os.urandom(3 * 1024 * 1024)
    server = _FileServer(data, content_range="bytes 5-%d/%d" % (len(data) - 1, len(data)))
    try:
        client = _api.Client("http://127.0.0.1:%d/api/v4" % server.port, "t", retries=2)
        with open(str(tmp_path / "out"), "wb") as handle:
            with pytest.raises(_api.MendixApiError, match="resumed at bytes 5-"):
                client.download_package("a", "p", handle, sleep=lambda s: None)
    finally:
        server.close()


def test_download_checks_the_size_against_the_package(tmp_path):
    data = os.urandom(1024)
    server = _FileServer(data, break_first=False, announced=1000)
    try:
        client = _api.Client("http://127.0.0.1:%d/api/v4" % server.port, "t", retries=0)
        with open(str(tmp_path / "out"), "wb") as handle:
            with pytest.raises(_api.MendixApiError, match="gave 1024 bytes but the package has fileSize 1000"):
                client.download_package("a", "p", handle)
    finally:
        server.close()

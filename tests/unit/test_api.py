"""Unit tests of the HTTP client's rules: retries per method and status, error mapping, the streaming body."""

import os
import tracemalloc

import pytest
from local_server import QuietServer
from urllib3.exceptions import NewConnectionError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import MaxRetryError

from ansible_collections.mendix.private_cloud.plugins.module_utils import _api


@pytest.mark.parametrize("method,status,retried", [
    ("GET", 429, True), ("GET", 502, True), ("GET", 503, True), ("GET", 504, True), ("GET", 500, True),
    ("GET", 404, False), ("DELETE", 503, True), ("PUT", 502, True),
    ("POST", 429, False), ("POST", 502, False), ("POST", 503, False), ("POST", 504, False), ("POST", 500, False),
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
    retry = _api.make_retry(10, backoff_factor=1)
    for _attempt in range(7):
        retry = retry.increment(method="GET", url="/x", error=ReadTimeoutError(None, "/x", "t"))
    values = {retry.get_backoff_time() for _attempt in range(50)}
    assert all(_api.BACKOFF_MAX / 2 <= v <= _api.BACKOFF_MAX for v in values)
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


def test_errors_of_a_request_that_carried_the_token_do_not_carry_it():
    import socket  # pylint: disable=import-outside-toplevel

    token = "secret-token-7f3a9c"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: connections are refused
    client = _api.Client("http://127.0.0.1:%d/api/v4" % port, token, retries=0)
    with pytest.raises(_api.MendixApiError) as info:
        client.list_packages("app")
    cause = info.value.__context__
    assert token in cause.request.headers["Authorization"]  # the failed request did carry the token
    assert token not in info.value.message and "Authorization" not in info.value.message
    assert token not in _api._reason(cause)


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

        self.server = QuietServer(("127.0.0.1", 0), Handler)
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


class _ScriptServer(object):
    """A real HTTP server that answers GETs from a script: ("status", code, retry_after), ("broken",), ("ok",),
    ("trickle", seconds between bytes). The last entry repeats."""

    def __init__(self, script):
        import http.server  # pylint: disable=import-outside-toplevel
        import threading  # pylint: disable=import-outside-toplevel
        import time  # pylint: disable=import-outside-toplevel

        outer = self
        self.script = list(script)
        self.count = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def do_GET(self):  # pylint: disable=invalid-name
                step = outer.script[min(outer.count, len(outer.script) - 1)]
                outer.count += 1
                body = b'{"packages": [], "pagination": {"offset": 0, "limit": 50, "size": 0}}'
                if step[0] == "status":
                    self.send_response(step[1])
                    if len(step) > 2:
                        self.send_header("Retry-After", str(step[2]))
                    body = b'{"error": {"code": %d, "message": "scripted"}}' % step[1]
                else:
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if step[0] == "broken":
                    self.wfile.write(body[:10])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if step[0] == "trickle":
                    try:
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(step[1])
                    except OSError:
                        pass
                    return
                self.wfile.write(body)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/api/v4" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _timed(call):
    import time  # pylint: disable=import-outside-toplevel

    started = time.monotonic()
    try:
        return call(), time.monotonic() - started
    except _api.MendixApiError as exc:
        return exc, time.monotonic() - started


def test_one_budget_covers_retried_statuses_and_broken_bodies():
    server = _ScriptServer([("status", 503), ("broken",), ("status", 503), ("broken",), ("ok",)])
    try:
        client = _api.Client(server.url, "secret-token", retries=3, backoff_factor=0.01)
        outcome, _elapsed = _timed(lambda: client.list_packages("app"))
        assert isinstance(outcome, _api.MendixApiError), outcome
        assert server.count == 4  # retries + 1 requests in all, not (retries + 1) squared
        client = _api.Client(server.url, "secret-token", retries=4, backoff_factor=0.01)
        server.count = 0
        assert _timed(lambda: client.list_packages("app"))[0] == []
        assert server.count == 5
    finally:
        server.close()


def test_a_retry_after_beyond_the_cap_fails_at_once_saying_how_long():
    server = _ScriptServer([("status", 429, 3600)])
    try:
        client = _api.Client(server.url, "secret-token", retries=5)
        outcome, elapsed = _timed(lambda: client.list_packages("app"))
        assert isinstance(outcome, _api.MendixApiError) and outcome.status == 429
        assert "asked to wait 3600 seconds" in outcome.message and elapsed < 2 and server.count == 1
    finally:
        server.close()


def test_a_retry_after_within_the_cap_and_the_deadline_is_honoured():
    server = _ScriptServer([("status", 429, 1), ("ok",)])
    try:
        client = _api.Client(server.url, "secret-token", retries=2)
        result, elapsed = _timed(lambda: client.list_packages("app"))
        assert result == [] and 1 <= elapsed < 3 and server.count == 2
    finally:
        server.close()


def test_a_retry_after_beyond_the_tasks_time_left_fails_at_once():
    import time  # pylint: disable=import-outside-toplevel

    server = _ScriptServer([("status", 429, 30)])
    try:
        client = _api.Client(server.url, "secret-token", retries=5, deadline=time.monotonic() + 5)
        outcome, elapsed = _timed(lambda: client.list_packages("app"))
        assert "asked to wait 30 seconds" in outcome.message and elapsed < 2
    finally:
        server.close()


def test_the_deadline_bounds_a_flapping_server():
    import time  # pylint: disable=import-outside-toplevel

    server = _ScriptServer([("status", 503)])
    try:
        client = _api.Client(server.url, "secret-token", retries=50, backoff_factor=0.5, deadline=time.monotonic() + 3)
        outcome, elapsed = _timed(lambda: client.list_packages("app"))
        assert isinstance(outcome, _api.MendixApiError) and elapsed < 4.5, (outcome, elapsed)
    finally:
        server.close()


def test_a_trickled_answer_cannot_hold_the_call_past_its_deadline():
    import time  # pylint: disable=import-outside-toplevel

    server = _ScriptServer([("trickle", 0.3)])
    try:
        client = _api.Client(server.url, "secret-token", retries=1, timeout=1, deadline=time.monotonic() + 2)
        outcome, elapsed = _timed(lambda: client.list_packages("app"))
        assert isinstance(outcome, _api.MendixApiError) and "time bound" in outcome.message and elapsed < 3.5, (outcome, elapsed)
    finally:
        server.close()


def test_path_segments_are_quoted():
    client = _api.Client("http://127.0.0.1:9/api/v4", "secret-token")
    assert client.environment_path("a", "ns/../x", "e?f") == "/apps/a/namespaces/ns%2F..%2Fx/environments/e%3Ff"
    assert _api.quote("feature/login page") == "feature%2Flogin%20page"

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

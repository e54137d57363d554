"""Unit tests of the deploy checks: the health check URL, and the health check against a real local HTTP server."""

import http.server
import threading
import time

import pytest
from local_server import QuietServer

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import Client
from ansible_collections.mendix.private_cloud.plugins.module_utils._env_service import DeployFailed, check_health, health_url

TOKEN = "mxpc-unit-token-never-sent"


def client(timeout=5):
    """The collection's client, as a module makes it (its token must never reach the app)."""
    return Client("http://127.0.0.1:1/api/v4", TOKEN, timeout=timeout, retries=2)


@pytest.mark.parametrize("given,app_url,url", [
    ("https://app.example.test/health", "https://other.example.test", "https://app.example.test/health"),
    ("/rest/health", "https://app.example.test", "https://app.example.test/rest/health"),
    ("rest/health", "https://app.example.test/", "https://app.example.test/rest/health"),
    ("/", "https://app.example.test/_apps/gitdemo/", "https://app.example.test/_apps/gitdemo/"),
    ("health", "http://127.0.0.1:8080/_apps/acc", "http://127.0.0.1:8080/_apps/acc/health"),
])
def test_health_url(given, app_url, url):
    assert health_url(given, app_url) == url


def test_a_path_needs_an_app_url():
    with pytest.raises(DeployFailed, match="has no http"):
        health_url("/health", "")


class _App(object):
    """A real HTTP server answering 503 for the first `sick` requests, then 200 with a body; records headers."""

    def __init__(self, sick, body=b'{"status": "ok"}', trickle=0.0):
        outer = self
        self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802  pylint: disable=invalid-name
                outer.seen.append(dict(self.headers))
                status = 503 if len(outer.seen) <= sick else 200
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for pos in range(len(body)):
                    if trickle:
                        try:
                            self.wfile.write(body[pos:pos + 1])
                            self.wfile.flush()
                        except OSError:
                            return
                        time.sleep(trickle)
                if not trickle:
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/health" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_health_check_waits_for_the_status_and_text_and_sends_no_token():
    app = _App(sick=2)
    try:
        seconds, polls = check_health(client(), app.url, 200, '"ok"', 20, 1)
    finally:
        app.close()
    assert polls == 3 and seconds < 5
    assert not any("Authorization" in headers for headers in app.seen)
    assert not any(TOKEN in str(headers) for headers in app.seen)


def test_health_check_times_out_saying_what_it_last_got():
    app = _App(sick=1000)
    try:
        with pytest.raises(DeployFailed, match=r"did not answer HTTP 200 within 2 seconds \(last: HTTP 503\)"):
            check_health(client(), app.url, 200, None, 2, 1)
    finally:
        app.close()
    wrong = _App(sick=0, body=b"maintenance")
    try:
        with pytest.raises(DeployFailed, match="without 'ok' in the body"):
            check_health(client(), wrong.url, 200, "ok", 1.5, 1)
    finally:
        wrong.close()


def test_health_check_of_an_app_that_trickles_ends_within_its_bound():
    """A server that sends its body a byte at a time holds no probe past the check's time: the client's guard."""
    app = _App(sick=0, body=b"x" * 600, trickle=0.2)
    started = time.monotonic()
    try:
        with pytest.raises(DeployFailed, match="no complete answer"):
            check_health(client(timeout=30), app.url, 200, None, 2, 1)
    finally:
        elapsed = time.monotonic() - started
        app.close()
    assert elapsed < 10, elapsed  # 600 bytes at 5 a second would take 120 s

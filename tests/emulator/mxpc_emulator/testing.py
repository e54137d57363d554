"""Start and stop an emulator process from tests, the way a user's CI would."""

import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.request

READY = re.compile(r"^mxpc-emulator listening on (?P<url>https?://\S+/api/v4)$")


class EmulatorProcess:
    """A real `mxpc-emulator` process on a free port; use as a context manager.

    `url` is the API base URL, `root` the server root (for the control API under /_emulator/).
    """

    def __init__(self, data_dir=None, args=(), python=None, port=0, ready_timeout=30, ca_file=None):
        self._tmp = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mxpc-emulator-")
            data_dir = self._tmp.name
        self.data_dir = data_dir
        self.args = list(args)
        self.python = python or sys.executable
        self.port = port
        self.ready_timeout = ready_timeout
        self.ca_file = ca_file
        self.proc = None
        self.url = None
        self.root = None
        self.output = []

    def start(self):
        cmd = [self.python, "-m", "mxpc_emulator", "--port", str(self.port), "--data-dir", self.data_dir, *self.args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        found = threading.Event()

        def reader():
            for line in self.proc.stdout:
                line = line.rstrip("\n")
                self.output.append(line)
                match = READY.match(line)
                if match and not found.is_set():
                    self.url = match.group("url")
                    found.set()

        threading.Thread(target=reader, daemon=True).start()
        if not found.wait(self.ready_timeout):
            self.stop()
            raise RuntimeError("the emulator did not start: " + "\n".join(self.output))
        self.root = self.url[: -len("/api/v4")]
        self.port = int(self.root.rsplit(":", 1)[1])
        return self

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stop the process (SIGTERM by default, SIGKILL to crash it); returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def restart(self, kill=True):
        """Crash (kill -9) or stop the process, then start it again on the same data dir and port."""
        self.stop(signal.SIGKILL if kill else signal.SIGTERM)
        self.start()
        return self

    def control(self, method, path, body=None):
        """Call the control API, for example control('GET', 'requests')."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.root}/_emulator/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        with urllib.request.urlopen(req, timeout=30, context=context) as resp:
            return json.loads(resp.read())

    def requests(self):
        return self.control("GET", "requests")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()


def env_overrides(url, token):
    """Environment for ansible-playbook runs against the emulator."""
    env = dict(os.environ)
    env["MENDIX_PRIVATE_CLOUD_URL"] = url
    env["MENDIX_REPOSITORY_URL"] = url.rsplit("/api/v4", 1)[0] + "/v1"  # the App Repository API, on the same server
    env["MENDIX_PAT"] = token
    return env

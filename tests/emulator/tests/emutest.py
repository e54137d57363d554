"""Helpers of the emulator's HTTP tests: a requests wrapper per token, seed constants, envelope checks."""

import os
import time

import requests

from mxpc_emulator import seed as seedmod

ADMIN = "mxpc-demo-admin-0f3c9a7e51d24b6f"
READONLY = "mxpc-demo-readonly-7d1e2b9c40a5"
NO_MODELREPO = "mxpc-demo-nomodelrepo-3a8f6e2d19c7"
GIT_APP = seedmod.DEMO_GIT_APP_ID
SVN_APP = seedmod.DEMO_SVN_APP_ID
NAMESPACE = seedmod.DEMO_NAMESPACE_ID
REFERENCE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "shared", "reference")


class Api:
    """A thin requests wrapper for one emulator and one token."""

    def __init__(self, emu, token=ADMIN):
        self.emu = emu
        self.base = emu.url
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"MxToken {token}"

    def __call__(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.base + path, **kwargs)

    def with_token(self, token):
        return Api(self.emu, token)

    def build(self, app=GIT_APP, branch="main", revision="6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4", **extra):
        return self("POST", f"/apps/{app}/packages/build", json={"branch": branch, "revision": revision, **extra})

    def wait(self, job_id, timeout=20, log=False):
        deadline = time.monotonic() + timeout
        while True:
            job = self("GET", f"/jobs/{job_id}", params={"log": "true"} if log else None).json()
            if job["status"] in ("finished", "failed") or time.monotonic() > deadline:
                return job
            time.sleep(0.05)

    def built_package(self, **kwargs):
        resp = self.build(**kwargs)
        assert resp.status_code == 202, resp.text
        job = self.wait(resp.json()["id"])
        assert job["status"] == "finished", job
        app = kwargs.get("app", GIT_APP)
        return self("GET", f"/apps/{app}/packages/{job['packageId']}").json()["package"]


def fast_args():
    return ["--build-seconds", "0.3", "--upload-seconds", "0.1", "--delete-seconds", "0.1", "--deploy-seconds", "0.2",
            "--start-seconds", "0"]


def assert_envelope(resp, status, *, names=(), message_has=None):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"]["code"] == status
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    got = [p["name"] for p in body["error"].get("invalid-params", [])]
    for name in names:
        assert name in got, (name, body)
    if message_has:
        text = body["error"]["message"] + " ".join(p["reason"] for p in body["error"].get("invalid-params", []))
        assert message_has in text, body
    return body

"""Reliability and security: bad input, TLS, proxies, rate limits, restarts, secrets at -vvvv, a small fault soak."""

import json
import os
import select
import socket
import socketserver
import threading

import pytest
import trustme

from harness import (
    ADMIN, FAST, FAILING, GIT_APP, NAMESPACE, NO_MODELREPO, REV1, REV2, TOKENS, make_mda, packages_of, run_playbook,
)
from mxpc_emulator.testing import EmulatorProcess

GOOD_UUID = "00000000-0000-4000-8000-000000000000"


def writes(emu):
    return [r for r in emu.requests() if r["method"] in ("POST", "PUT", "DELETE")]


def bad_input_cases(tmp_path, emu):
    directory = tmp_path / "a-directory"
    directory.mkdir()
    not_zip = tmp_path / "not-zip.mda"
    not_zip.write_text("plain text")
    empty = tmp_path / "empty.mda"
    empty.write_bytes(b"")
    good = make_mda(tmp_path / "good.mda")
    build = {"app_id": GIT_APP, "branch": "main", "revision": REV1}
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    return [
        # (id, module, args, token, expected fragments)
        ("app_id malformed", "mx_package", dict(build, app_id="not-a-uuid"), ADMIN, ["app_id must be a UUID"]),
        ("package_id malformed", "mx_package", {"app_id": GIT_APP, "state": "absent", "package_id": "42"}, ADMIN,
         ["package_id must be the UUID"]),
        ("unknown app", "mx_package", dict(build, app_id="76ef1b0f-4050-4810-a159-cb419268636c"), ADMIN,
         ["HTTP 404", "App 76ef1b0f-4050-4810-a159-cb419268636c could not be found"]),
        ("unknown package", "mx_deployment", {"app_id": GIT_APP, "namespace_id": NAMESPACE, "environment_id": "gitdemo",
                                              "package_id": GOOD_UUID}, ADMIN, ["package_id=" + GOOD_UUID, "mx_package_info"]),
        ("empty branch", "mx_package", dict(build, branch=""), ADMIN, ["branch must be 1 to 200 characters", "trunk"]),
        ("over-long branch", "mx_package", dict(build, branch="b" * 201), ADMIN, ["branch must be 1 to 200", "201 characters"]),
        ("over-long revision", "mx_package", dict(build, revision="r" * 51), ADMIN, ["revision must be 1 to 50"]),
        ("malformed version", "mx_package", dict(build, version="1.2"), ADMIN, ["version must be in x.y.z format", "1.2.3"]),
        ("src missing", "mx_package", {"app_id": GIT_APP, "src": str(tmp_path / "nope.mda")}, ADMIN,
         ["src", "was not found on the controller"]),
        ("src a directory", "mx_package", {"app_id": GIT_APP, "src": str(directory)}, ADMIN, ["is a directory", ".mda file"]),
        ("src not a zip", "mx_package", {"app_id": GIT_APP, "src": str(not_zip)}, ADMIN, ["is not a zip archive"]),
        ("src empty", "mx_package", {"app_id": GIT_APP, "src": str(empty)}, ADMIN, ["is empty"]),
        ("bad token", "mx_package", build, "not-a-real-token", ["HTTP 403", "The token is not accepted"]),
        ("missing token", "mx_package", build, None, ["token is required", "MENDIX_PAT"]),
        ("token without scope", "mx_package", build, NO_MODELREPO, ["HTTP 403", "mx:modelrepository:write"]),
        ("wrong base_url", "mx_package", dict(build, base_url=emu.root + "/api/v3"), ADMIN, ["HTTP 404", "check base_url"]),
        ("base_url not a URL", "mx_package", dict(build, base_url="privatecloud.mendixcloud.com"), ADMIN,
         ["base_url must be an http(s) URL"]),
        ("unreachable host", "mx_package", dict(build, base_url=f"http://127.0.0.1:{dead_port}/api/v4", retries=1), ADMIN,
         ["cannot reach the API", "Check base_url"]),
        ("wait_timeout zero", "mx_package", dict(build, wait_timeout=0), ADMIN, ["wait_timeout must be more than 0"]),
        ("build and upload at once", "mx_package", dict(build, src=good), ADMIN,
         ["parameters are mutually exclusive: src|branch"]),
        ("nothing to do", "mx_package", {"app_id": GIT_APP}, ADMIN,
         ["state is present but any of the following are missing: branch, src"]),
        ("absent with build options", "mx_package", dict(build, state="absent", package_id=GOOD_UUID), ADMIN,
         ["parameters are mutually exclusive: package_id|branch"]),
        ("revision without branch", "mx_package", {"app_id": GIT_APP, "revision": REV1, "src": good}, ADMIN,
         ["parameters are mutually exclusive: src|revision"]),
        ("version without a build", "mx_package", {"app_id": GIT_APP, "src": good, "version": "1.0.0"}, ADMIN,
         ["missing parameter(s) required by 'version': branch"]),
        ("ca_path missing", "mx_package", dict(build, ca_path=str(tmp_path / "nope.pem")), ADMIN, ["ca_path", "is not a file"]),
        ("environment_id too long", "mx_deployment", {"app_id": GIT_APP, "namespace_id": NAMESPACE, "environment_id": "e" * 33,
                                                      "package_id": GOOD_UUID}, ADMIN, ["environment_id must be 1 to 32"]),
        ("unknown environment", "mx_deployment", {"app_id": GIT_APP, "namespace_id": NAMESPACE, "environment_id": "nope",
                                                  "package_id": GOOD_UUID}, ADMIN, ["environment_id=nope", "not found"]),
        ("job_url not a job", "mx_job_wait", {"job_url": emu.url + "/apps/x"}, ADMIN, ["does not end in /jobs/<job id>"]),
        ("download_url without package_id", "mx_package_info", {"app_id": GIT_APP, "download_url": True}, ADMIN,
         ["download_url is True but all of the following are missing: package_id"]),
    ]


def test_bad_input_matrix(emu, tmp_path):
    """Every case is refused with its message and makes no write. The cases run in one play (one module call each,
    the token given as the case's option; none in the environment), which takes a playbook start per case less."""
    cases = bad_input_cases(tmp_path, emu)
    assert len(cases) == len(set(c[0] for c in cases)) == 29
    emu.control("DELETE", "requests")
    run = run_playbook(emu, "bad_input_cases", tmp_path, token=None,
                       cases=[dict(name=name, module=module, args=args, **({"token": token} if token else {}))
                              for name, module, args, token, _fragments in cases])
    assert run.rc == 0 and sorted(run.result) == sorted(c[0] for c in cases), run
    failures = []
    for name, _module, _args, _token, fragments in cases:
        outcome = run.result[name]
        text = json.dumps(outcome)
        missing = [f for f in fragments if f not in text]
        if not outcome.get("failed") or missing:
            failures.append((name, missing, text[-1500:]))
    assert not failures, failures
    # The scope is only known once the API refuses the write: the case without it has its write refused (403); no
    # other write reaches the API.
    made = [r for r in writes(emu) if not (r["token"] == "no-modelrepo" and r["status"] == 403)]
    assert made == [], made
    assert [r for r in writes(emu) if r["token"] == "no-modelrepo"], "the case without the scope was not tried"
    assert packages_of(emu) == []


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(folder / "ip.pem"))
    ca.issue_cert("localhost").private_key_and_cert_chain_pem.write_to_path(str(folder / "name.pem"))
    return folder


def test_tls_ca_path_validate_certs_and_name_mismatch(tls, tmp_path):
    args = FAST + ["--tls-cert", str(tls / "ip.pem"), "--tls-key", str(tls / "ip.pem")]
    with EmulatorProcess(args=args) as emu:
        assert emu.url.startswith("https://")
        build = {"app_id": GIT_APP, "branch": "main", "revision": REV1}
        ok = run_playbook(emu, "build", tmp_path, ca_path=str(tls / "ca.pem"), **build)
        assert ok.rc == 0, ok
        untrusted = run_playbook(emu, "build", tmp_path, force=True, **build)
        assert untrusted.rc != 0 and "TLS certificate verification failed" in untrusted.stdout and "ca_path" in untrusted.stdout
        insecure = run_playbook(emu, "build", tmp_path, validate_certs=False, **build)
        assert insecure.rc == 0 and insecure.result["changed"] is False
    args = FAST + ["--tls-cert", str(tls / "name.pem"), "--tls-key", str(tls / "name.pem")]
    with EmulatorProcess(args=args, ca_file=str(tls / "ca.pem")) as emu:
        mismatch = run_playbook(emu, "build", tmp_path, ca_path=str(tls / "ca.pem"), **build)
        assert mismatch.rc != 0 and "TLS certificate verification failed" in mismatch.stdout
        assert "127.0.0.1" in mismatch.stdout
        by_name = run_playbook(emu, "build", tmp_path, ca_path=str(tls / "ca.pem"), base_url=emu.url.replace("127.0.0.1", "localhost"),
                               **build)
        assert by_name.rc == 0, by_name
        emu.root = emu.root.replace("127.0.0.1", "localhost")
        assert len([r for r in emu.requests() if r["method"] == "POST"]) == 1


class ConnectProxy(socketserver.ThreadingTCPServer):
    """A small HTTP CONNECT proxy on loopback that counts the tunnels it opened."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.tunnels = []
        super().__init__(("127.0.0.1", 0), ProxyHandler)


class ProxyHandler(socketserver.BaseRequestHandler):
    def handle(self):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode()
        method, target, _version = line.split(" ", 2)
        if method != "CONNECT":
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, port = target.rsplit(":", 1)
        self.server.tunnels.append(target)
        upstream = socket.create_connection((host, int(port)), timeout=30)
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        sockets = [self.request, upstream]
        try:
            while True:
                ready, _w, _x = select.select(sockets, [], [], 30)
                if not ready:
                    return
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.request else self.request).sendall(data)
        finally:
            upstream.close()


def test_https_proxy_is_honoured(tls, tmp_path):
    proxy = ConnectProxy()
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        args = FAST + ["--tls-cert", str(tls / "ip.pem"), "--tls-key", str(tls / "ip.pem")]
        with EmulatorProcess(args=args) as emu:
            env = {"HTTPS_PROXY": f"http://127.0.0.1:{proxy.server_address[1]}", "NO_PROXY": "", "no_proxy": ""}
            run = run_playbook(emu, "build", tmp_path, env=env, ca_path=str(tls / "ca.pem"), app_id=GIT_APP, branch="main",
                               revision=REV2)
            assert run.rc == 0, run
            assert proxy.tunnels and all(t == f"127.0.0.1:{emu.port}" for t in proxy.tunnels)
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_no_token_anywhere_at_vvvv(emu, tmp_path):
    """Build, upload, info with a download URL and the build log, a failing build, a deploy and the role, all at -vvvv.
    run_playbook asserts on every run that no token is in stdout, stderr or the returned values."""
    src = make_mda(tmp_path / "secret-check.mda")
    runs = [
        run_playbook(emu, "build", tmp_path, verbosity=4, app_id=GIT_APP, branch="main", revision=REV1),
        run_playbook(emu, "upload", tmp_path, verbosity=4, app_id=GIT_APP, src=src),
        run_playbook(emu, "build", tmp_path, verbosity=4, app_id=GIT_APP, branch="feature/login-page", revision=FAILING),
        run_playbook(emu, "build", tmp_path, verbosity=4, token=NO_MODELREPO, app_id=GIT_APP, branch="main", revision=REV2),
        run_playbook(emu, "role", tmp_path, verbosity=4,
                     role_vars={"app_id": GIT_APP, "branch": "main", "revision": REV2, "namespace_id": NAMESPACE,
                                "environment_id": "gitdemo", "download_dest": str(tmp_path / "dl.mda")}),
    ]
    pkg = runs[0].result["package_id"]
    runs.append(run_playbook(emu, "info", tmp_path, verbosity=4, app_id=GIT_APP, package_id=pkg, download_url=True, build_log=True))
    assert [r.rc == 0 for r in runs] == [True, True, False, False, True, True]
    assert all("<localhost> ESTABLISH LOCAL CONNECTION" in r.stdout for r in runs)
    for folder, _dirs, files in os.walk(tmp_path):
        for name in files:
            with open(os.path.join(folder, name), "rb") as handle:
                data = handle.read()
            assert all(token.encode() not in data for token in TOKENS.values()), name

"""The process: command line, ready line, SIGTERM, persistence across kill -9, TLS, seeds, expiring URLs."""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import requests
import trustme

from emutest import GIT_APP, Api, fast_args
from mxpc_emulator import seed as seedmod
from mxpc_emulator.testing import EmulatorProcess


def test_ready_line_and_clean_sigterm(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "mxpc_emulator", "--port", "0", "--data-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert re.fullmatch(r"mxpc-emulator listening on http://127\.0\.0\.1:\d+/api/v4\n", line)
    proc.terminate()
    assert proc.wait(10) == 0
    assert proc.stdout.read() == ""


def test_kill_during_build_then_restart_finishes_the_job(tmp_path):
    emu = EmulatorProcess(data_dir=str(tmp_path), args=["--build-seconds", "2"]).start()
    try:
        api = Api(emu)
        job = api.build().json()
        emu.stop(sig=9)
        time.sleep(0.5)
        emu.start()
        api = Api(emu)
        finished = api.wait(job["id"], timeout=10)
        assert finished["status"] == "finished"
        listed = api("GET", f"/apps/{GIT_APP}/packages").json()["packages"]
        assert [p["id"] for p in listed] == [finished["packageId"]]
    finally:
        emu.stop()


def test_state_survives_a_restart(tmp_path):
    with EmulatorProcess(data_dir=str(tmp_path), args=fast_args()) as emu:
        pkg = Api(emu).built_package()
        emu.restart(kill=False)
        got = Api(emu)("GET", f"/apps/{GIT_APP}/packages/{pkg['id']}", params={"url": "true"}).json()["package"]
        assert got["fileSize"] == pkg["fileSize"]
        assert len(requests.get(got["url"]["location"], timeout=10).content) == pkg["fileSize"]


def test_expired_download_link_is_403(tmp_path):
    # A lifetime of some seconds, so that a busy machine still starts the first download in time; the test then
    # waits until the lifetime has passed, measured from before the link was asked for.
    ttl = 5
    with EmulatorProcess(args=fast_args() + ["--url-ttl-seconds", str(ttl)]) as emu:
        api = Api(emu)
        pkg = api.built_package()
        asked = time.monotonic()
        url = api("GET", f"/apps/{GIT_APP}/packages/{pkg['id']}", params={"url": "true"}).json()["package"]["url"]
        assert url["ttl"] == ttl
        assert requests.get(url["location"], timeout=10).status_code == 200
        time.sleep(max(0.0, asked + ttl + 1.1 - time.monotonic()))
        expired = requests.get(url["location"], timeout=10)
        assert expired.status_code == 403 and "expired" in expired.text


def test_seed_file_yaml(tmp_path):
    seed = tmp_path / "seed.yml"
    seed.write_text(
        "tokens:\n  - {name: ci, token: ci-token-123, scopes: [mx:privatecloud-build:read, mx:privatecloud-build:write,"
        " mx:modelrepository:write]}\n"
        "apps:\n  - id: 11111111-2222-3333-4444-555555555555\n    name: seeded\n    vcs: svn\n    runtime_version: 9.24.0.1\n"
        "    branches: {trunk: ['7', '8']}\n    failing_revisions: ['8']\n"
        "settings: {build_seconds: 0.2}\n"
    )
    with EmulatorProcess(args=["--seed", str(seed)]) as emu:
        api = Api(emu, token="ci-token-123")
        app = "11111111-2222-3333-4444-555555555555"
        pkg = api.built_package(app=app, branch="trunk", revision="7")
        assert pkg["fileName"] == "MainLine-1.0.0.7.mda" and pkg["runtimeVersion"] == "9.24.0.1"
        job = api.wait(api.build(app=app, branch="trunk", revision="8").json()["id"], log=True)
        assert job["status"] == "failed"
        assert Api(emu)("GET", f"/apps/{app}/packages").status_code == 403


def test_seed_file_json_and_bad_seed(tmp_path):
    good = tmp_path / "seed.json"
    good.write_text(json.dumps({"tokens": [], "apps": [], "settings": {"build_seconds": 1}}))
    with EmulatorProcess(args=["--seed", str(good)]):
        pass
    bad = tmp_path / "bad.yml"
    bad.write_text("apps:\n  - id: not-a-uuid\n")
    result = subprocess.run([sys.executable, "-m", "mxpc_emulator", "--data-dir", str(tmp_path / "d"), "--seed", str(bad)],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "seed.apps[0].id" in result.stderr


def test_seed_environments_have_a_name_a_purpose_and_a_production_flag(tmp_path):
    """properties.name, environmentPurpose and production come from the seed (defaults: the id, Test, and true only
    for purpose Production); GET shows them, and a purpose the API does not know is refused with the field named."""
    seed = tmp_path / "seed.yml"
    app = "11111111-2222-3333-4444-555555555555"
    seed.write_text(
        "tokens:\n  - {name: ops, token: ops-token-123, scopes: [mx:deployment:read]}\n"
        f"apps:\n  - id: {app}\n    namespaces:\n      - id: ns1\n        environments:\n"
        "          - {id: test}\n          - {id: prod, name: Production, purpose: Production}\n"
        "          - {id: acc, purpose: Acceptance, production: true}\n"
    )
    with EmulatorProcess(args=["--seed", str(seed)]) as emu:
        listed = Api(emu, token="ops-token-123")("GET", f"/apps/{app}/environments").json()["environments"]
    shown = {e["environment"]["id"]: e["environment"]["properties"] for e in listed}
    assert {k: (v["name"], v["environmentPurpose"], v["production"]) for k, v in shown.items()} == {
        "test": ("test", "Test", False), "prod": ("Production", "Production", True), "acc": ("acc", "Acceptance", True)}
    bad = {"apps": [{"id": app, "namespaces": [{"id": "ns1", "environments": [{"id": "x", "purpose": "Staging"}]}]}]}
    with pytest.raises(seedmod.SeedError, match=r"environments\[0\]\.purpose must be one of Test, Development"):
        seedmod.normalise(bad)


def test_tls(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    with EmulatorProcess(args=["--tls-cert", str(tmp_path / "server.pem"), "--tls-key", str(tmp_path / "server.pem")]) as emu:
        assert emu.url.startswith("https://127.0.0.1:")
        resp = requests.get(f"{emu.url}/apps/{GIT_APP}/packages", verify=str(tmp_path / "ca.pem"),
                            headers={"Authorization": "MxToken mxpc-demo-admin-0f3c9a7e51d24b6f"}, timeout=10)
        assert resp.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{emu.url}/apps/{GIT_APP}/packages", timeout=10)


def test_installs_on_its_own_and_runs(tmp_path):
    """Users' CI installs the emulator's folder alone (pip install ./tests/emulator, or the same as a git
    subdirectory): a fresh virtual environment gets it with its dependencies, and the console script serves the API."""
    source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = str(tmp_path / "emulator")  # a copy: building the package writes build/ into the folder it builds
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".pytest_cache"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                          folder], capture_output=True, text=True, timeout=600, check=False)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    proc = subprocess.Popen([str(venv / "bin" / "mxpc-emulator"), "--port", "0", "--data-dir", str(tmp_path / "data")],
                            stdout=subprocess.PIPE, text=True, cwd=str(tmp_path))
    try:
        url = re.fullmatch(r"mxpc-emulator listening on (\S+)\n", proc.stdout.readline()).group(1)
        resp = requests.get(f"{url}/apps/{GIT_APP}/packages", headers={"Authorization": "MxToken mxpc-demo-admin-0f3c9a7e51d24b6f"},
                            timeout=30)
        assert resp.status_code == 200 and resp.json()["packages"] == []
    finally:
        proc.terminate()
        proc.wait(10)

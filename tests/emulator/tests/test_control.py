"""The control API: request log, reset, fault injection; and the rate limit."""

import datetime
import subprocess
import sys
import time

import pytest
import requests

from emutest import ADMIN, GIT_APP, Api, fast_args
from mxpc_emulator.testing import EmulatorProcess


def test_request_log_names_token_never_its_value(api):
    api.emu.control("DELETE", "requests")
    api("GET", f"/apps/{GIT_APP}/packages", params={"limit": "5"})
    api.with_token(None)("GET", f"/apps/{GIT_APP}/packages")
    log = api.emu.requests()
    assert [(e["method"], e["status"], e["token"]) for e in log] == [("GET", 200, "admin"), ("GET", 401, None)]
    assert log[0]["path"] == f"/api/v4/apps/{GIT_APP}/packages" and log[0]["query"] == {"limit": "5"}
    stamp = datetime.datetime.strptime(log[0]["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs((datetime.datetime.utcnow() - stamp).total_seconds()) < 30
    assert ADMIN not in str(log)


def test_reset_returns_to_the_seed(api):
    api.built_package()
    api.emu.control("POST", "reset")
    assert api("GET", f"/apps/{GIT_APP}/packages").json()["packages"] == []
    assert len(api.emu.requests()) == 1


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "504"])
def test_status_faults(api, kind):
    api.emu.control("POST", "faults", {"rate": 1, "kinds": [kind], "seed": 1})
    resp = api("GET", f"/apps/{GIT_APP}/packages")
    assert resp.status_code == int(kind)
    assert resp.json()["error"]["code"] == int(kind)
    assert ("Retry-After" in resp.headers) == (kind == "429")
    assert requests.get(api.emu.root + "/_emulator/health", timeout=5).status_code == 200


def test_reset_fault_drops_before_processing(api):
    api.emu.control("POST", "faults", {"rate": 1, "kinds": ["reset"]})
    with pytest.raises(requests.ConnectionError):
        api.build()
    api.emu.control("POST", "faults", {"rate": 0})
    time.sleep(0.5)
    assert api("GET", f"/apps/{GIT_APP}/packages").json()["packages"] == []


def test_lost_response_processes_then_drops(api):
    api.emu.control("POST", "faults", {"rate": 1, "kinds": ["lost_response"]})
    with pytest.raises(requests.ConnectionError):
        api.build()
    api.emu.control("POST", "faults", {"rate": 0})
    deadline = time.monotonic() + 5
    while not api("GET", f"/apps/{GIT_APP}/packages").json()["packages"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(api("GET", f"/apps/{GIT_APP}/packages").json()["packages"]) == 1
    assert api.emu.requests()[0]["fault"] == "lost_response"


def test_slow_fault(api):
    api.emu.control("POST", "faults", {"rate": 1, "kinds": ["slow"], "slow_seconds": 0.6})
    started = time.monotonic()
    assert api("GET", f"/apps/{GIT_APP}/packages").status_code == 200
    assert time.monotonic() - started >= 0.6


def test_fault_rate_is_seeded_and_partial(api):
    api.emu.control("POST", "faults", {"rate": 0.3, "kinds": ["503"], "seed": 42})
    first = [api("GET", f"/apps/{GIT_APP}/packages").status_code for _attempt in range(60)]
    api.emu.control("POST", "faults", {"rate": 0.3, "kinds": ["503"], "seed": 42})
    second = [api("GET", f"/apps/{GIT_APP}/packages").status_code for _attempt in range(60)]
    assert first == second
    assert 5 <= first.count(503) <= 35 and first.count(200) >= 25


def test_faults_only_touch_api_routes(api):
    pkg = api.built_package()
    location = api("GET", f"/apps/{GIT_APP}/packages/{pkg['id']}", params={"url": "true"}).json()["package"]["url"]["location"]
    api.emu.control("POST", "faults", {"rate": 1, "kinds": ["503"]})
    assert api.emu.control("GET", "faults")["rate"] == 1
    assert requests.get(api.emu.root + "/_emulator/requests", timeout=5).status_code == 200
    assert requests.get(location, timeout=10).status_code == 200  # downloads only when a path names them


def test_truncate_fault_cuts_an_api_answer(api):
    api.emu.control("POST", "faults", {"rate": 1, "kinds": ["truncate"], "count": 1})
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        api("GET", f"/apps/{GIT_APP}/packages")
    assert api("GET", f"/apps/{GIT_APP}/packages").status_code == 200
    assert [e["fault"] for e in api.emu.requests()][-2:] == ["truncate", None]


def test_download_faults_when_named_and_the_log_shows_downloads(api):
    pkg = api.built_package()
    location = api("GET", f"/apps/{GIT_APP}/packages/{pkg['id']}", params={"url": "true"}).json()["package"]["url"]["location"]
    api.emu.control("DELETE", "requests")
    api.emu.control("POST", "faults", {"rate": 1, "kinds": ["truncate"], "path": "^/_files/", "count": 1})
    got = bytearray()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        with requests.get(location, stream=True, timeout=10) as resp:
            assert int(resp.headers["Content-Length"]) == pkg["fileSize"]
            for chunk in resp.iter_content(8):
                got += chunk
    assert 0 < len(got) < pkg["fileSize"]
    rest = requests.get(location, headers={"Range": "bytes=%d-" % len(got)}, timeout=10)
    assert rest.status_code == 206 and len(got) + len(rest.content) == pkg["fileSize"]
    log = api.emu.requests()
    assert [(e["fault"], e["range"], e["authorization"], e["token"]) for e in log] == [
        ("truncate", None, False, None), (None, "bytes=%d-" % len(got), False, None)]
    assert log[1]["status"] == 206


def test_bad_fault_config_is_rejected(api):
    resp = requests.post(api.emu.root + "/_emulator/faults", json={"rate": 2}, timeout=5)
    assert resp.status_code == 400
    resp = requests.post(api.emu.root + "/_emulator/faults", json={"kinds": ["boom"]}, timeout=5)
    assert resp.status_code == 400


def test_rate_limit_per_token_with_retry_after():
    with EmulatorProcess(args=fast_args() + ["--rate-limit", "5"]) as emu:
        api = Api(emu)
        codes = [api("GET", f"/apps/{GIT_APP}/packages").status_code for _attempt in range(6)]
        assert codes == [200] * 5 + [429]
        resp = api("GET", f"/apps/{GIT_APP}/packages")
        assert 1 <= int(resp.headers["Retry-After"]) <= 60
        assert "Rate limit" in resp.json()["error"]["message"]
        other = api.with_token("mxpc-demo-readonly-7d1e2b9c40a5")
        assert other("GET", f"/apps/{GIT_APP}/packages").status_code == 200


def test_rate_window_is_the_time_the_limit_counts_over():
    with EmulatorProcess(args=fast_args() + ["--rate-limit", "3", "--rate-window", "2"]) as emu:
        api = Api(emu)
        assert [api("GET", f"/apps/{GIT_APP}/packages").status_code for _attempt in range(4)] == [200, 200, 200, 429]
        limited = api("GET", f"/apps/{GIT_APP}/packages")
        assert int(limited.headers["Retry-After"]) <= 2 and "per 2 seconds" in limited.json()["error"]["message"]
        time.sleep(2.2)
        assert api("GET", f"/apps/{GIT_APP}/packages").status_code == 200


def test_faults_narrowed_by_method_path_and_count(api):
    api.emu.control("POST", "faults", {"rate": 1, "kinds": ["503"], "methods": ["POST"], "path": "/packages/build$", "count": 2})
    assert api("GET", f"/apps/{GIT_APP}/packages").status_code == 200
    assert [api.build().status_code for _attempt in range(3)] == [503, 503, 202]
    assert api.emu.control("GET", "faults")["count"] == 0


def test_jobs_listing(api):
    build = api.build().json()
    api.wait(build["id"])
    jobs = api.emu.control("GET", "jobs")
    assert [(j["id"], j["kind"], j["status"]) for j in jobs] == [(build["id"], "build", "finished")]
    assert jobs[0]["packageId"]


def test_bulk_packages_page_through(api):
    created = api.emu.control("POST", "packages", {"appId": GIT_APP, "count": 120})
    assert created["created"] == 120
    seen = []
    for offset in range(0, 150, 50):
        page = api("GET", f"/apps/{GIT_APP}/packages", params={"offset": offset, "limit": 50}).json()
        seen += [p["id"] for p in page["packages"]]
        assert page["pagination"]["size"] == len(page["packages"])
    assert len(seen) == len(set(seen)) == 120 and seen[0] == created["last"]
    jobs = api.emu.control("GET", "jobs")
    assert jobs == []


def test_request_log_keeps_the_newest_entries_up_to_its_limit():
    with EmulatorProcess(args=fast_args() + ["--request-log-limit", "3"]) as emu:
        api = Api(emu)
        for limit in range(1, 6):
            assert api("GET", f"/apps/{GIT_APP}/packages", params={"limit": str(limit)}).status_code == 200
        assert [e["query"]["limit"] for e in emu.requests()] == ["3", "4", "5"]


def test_request_log_limit_is_checked():
    proc = subprocess.run([sys.executable, "-m", "mxpc_emulator", "--data-dir", "/nonexistent", "--request-log-limit", "-1"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "--request-log-limit is 0 (keep all) or more" in proc.stderr

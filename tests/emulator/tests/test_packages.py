"""Build, upload, get, list, download and delete, as the Build API documents them."""

import datetime
import hashlib
import io
import os
import time
import zipfile

import requests

from emutest import GIT_APP, SVN_APP, assert_envelope

HASH = "6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4"


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def test_build_answers_202_with_job_and_absolute_location(api):
    resp = api.build(version="1.0.1")
    assert resp.status_code == 202
    job = resp.json()
    assert job["status"] in ("created", "running")
    assert job["details"] == "Request to build deployment package."
    assert "packageId" not in job
    assert resp.headers["Location"] == f"{api.base}/jobs/{job['id']}"
    assert requests.get(resp.headers["Location"], headers=api.session.headers, timeout=10).json()["id"] == job["id"]


def test_job_goes_created_running_finished(api):
    seen = []
    job = api.build().json()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = api("GET", f"/jobs/{job['id']}").json()
        if not seen or seen[-1] != status["status"]:
            seen.append(status["status"])
        if status["status"] == "finished":
            break
        time.sleep(0.01)
    assert seen[0] in ("created", "running")
    assert seen[-2:] == ["running", "finished"]
    assert "packageId" in status


def test_git_package_naming_and_fields(api):
    pkg = api.built_package(version="1.0.1", description="first")
    assert pkg["modelVersion"] == "1.0.1.6f995268"
    assert pkg["fileName"] == "main-1.0.1.6f995268.mda"
    assert pkg["runtimeVersion"] == "10.18.1.51001"
    assert pkg["appId"] == GIT_APP
    assert pkg["description"] == "first"
    created, expiry = parse_time(pkg["createdOn"]), parse_time(pkg["expiryDate"])
    assert expiry - created == datetime.timedelta(days=60)
    assert pkg["fileSize"] > 0


def test_default_version_and_short_hash(api):
    pkg = api.built_package(revision="93de884c0b1a")
    assert pkg["modelVersion"] == "1.0.0.93de884c"
    assert pkg["fileName"] == "main-1.0.0.93de884c.mda"


def test_svn_trunk_is_named_mainline(api):
    pkg = api.built_package(app=SVN_APP, branch="trunk", revision="623", version="1.3.0")
    assert pkg["modelVersion"] == "1.3.0.623"
    assert pkg["fileName"] == "MainLine-1.3.0.623.mda"
    assert pkg["runtimeVersion"] == "9.24.2.18293"


def test_branch_name_keeps_only_safe_characters(api):
    pkg = api.built_package(branch="feature/login-page", revision="b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6", version="2.0.0")
    assert pkg["fileName"] == "featurelogin-page-2.0.0.b7c8d9e0.mda"


def failed_build(api, **kwargs):
    resp = api.build(**kwargs)
    assert resp.status_code == 202
    return api.wait(resp.json()["id"], log=True)


def test_unknown_branch_fails_with_log(api):
    job = failed_build(api, branch="nope")
    assert job["status"] == "failed"
    assert "nope" in job["error"]["message"]
    assert "does not exist" in job["log"]["build"]


def test_unknown_revision_fails(api):
    job = failed_build(api, revision="0123456789abcdef")
    assert job["status"] == "failed" and "0123456789abcdef" in job["error"]["message"]


def test_failing_revision_has_compile_log(api):
    job = failed_build(api, branch="feature/login-page", revision="deadbeef00112233445566778899aabbccddeeff")
    assert job["status"] == "failed"
    assert "message" in job["error"]
    assert "CE1613" in job["log"]["build"] and "mxbuild exited with code 1" in job["log"]["build"]
    assert "packageId" not in job


def test_svn_main_line_suggests_trunk(api):
    job = failed_build(api, app=SVN_APP, branch="Main line", revision="623")
    assert job["status"] == "failed"
    assert "trunk" in job["error"]["message"]
    assert "trunk" in job["log"]["build"]


def test_built_file_is_a_real_zip(api):
    pkg = api.built_package()
    url = api("GET", f"/apps/{GIT_APP}/packages/{pkg['id']}", params={"url": "true"}).json()["package"]["url"]
    data = requests.get(url["location"], timeout=10).content
    assert len(data) == pkg["fileSize"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "model/metadata.json" in archive.namelist()


def upload(api, content, file_name, app=GIT_APP):
    return api("POST", f"/apps/{app}/packages", files={"file": ("upload.bin", content)}, data={"fileName": file_name})


def make_zip(extra=b""):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("model/metadata.json", '{"ModelVersion": "3.1.4.159", "RuntimeVersion": "10.6.0.1"}')
        archive.writestr("blob.bin", extra)
    return buf.getvalue()


def test_upload_appends_mda_and_reports_real_size(api):
    content = make_zip(b"x" * 1000)
    resp = upload(api, content, "my-app_2.2.1")
    assert resp.status_code == 202
    assert resp.json()["details"] == "Request to upload deployment package."
    job = api.wait(resp.json()["id"])
    assert job["status"] == "finished"
    pkg = api("GET", f"/apps/{GIT_APP}/packages/{job['packageId']}").json()["package"]
    assert pkg["fileName"] == "my-app_2.2.1.mda"
    assert pkg["fileSize"] == len(content)
    assert pkg["modelVersion"] == "3.1.4.159"


def test_upload_keeps_existing_mda_suffix(api):
    job = api.wait(upload(api, make_zip(), "keep.mda").json()["id"])
    assert api("GET", f"/apps/{GIT_APP}/packages/{job['packageId']}").json()["package"]["fileName"] == "keep.mda"


def test_upload_of_non_zip_fails_the_job(api):
    job = api.wait(upload(api, b"this is not a zip file", "bad.mda").json()["id"])
    assert job["status"] == "failed"
    assert "zip" in job["error"]["message"]
    assert api("GET", f"/apps/{GIT_APP}/packages").json()["packages"] == []


def test_upload_missing_parts_is_400(api):
    assert_envelope(api("POST", f"/apps/{GIT_APP}/packages", files={"file": ("a", b"PK")}), 400, names=["fileName"])
    assert_envelope(api("POST", f"/apps/{GIT_APP}/packages", files={"fileName": (None, "a.mda")}), 400, names=["file"])
    assert_envelope(api("POST", f"/apps/{GIT_APP}/packages", json={"fileName": "a"}), 400)


def test_upload_tens_of_mib_streams_and_round_trips(api, tmp_path):
    path = tmp_path / "big.mda"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("blob.bin", os.urandom(40 * 1024 * 1024))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with open(path, "rb") as handle:
        resp = api("POST", f"/apps/{GIT_APP}/packages", files={"file": ("big.mda", handle)}, data={"fileName": "big"})
    job = api.wait(resp.json()["id"])
    assert job["status"] == "finished"
    pkg = api("GET", f"/apps/{GIT_APP}/packages/{job['packageId']}", params={"url": "true"}).json()["package"]
    assert pkg["fileSize"] == path.stat().st_size
    got = hashlib.sha256()
    with requests.get(pkg["url"]["location"], stream=True, timeout=30) as dl:
        for chunk in dl.iter_content(1 << 20):
            got.update(chunk)
    assert got.hexdigest() == digest


def test_get_package_wrapped_with_log_and_url(api):
    pkg = api.built_package()
    plain = api("GET", f"/apps/{GIT_APP}/packages/{pkg['id']}").json()
    assert set(plain) == {"package"}
    assert "url" not in plain["package"] and "buildLog" not in plain["package"]
    full = api("GET", f"/apps/{GIT_APP}/packages/{pkg['id']}", params={"url": "true", "log": "true"}).json()["package"]
    assert full["url"]["ttl"] == 900
    assert full["url"]["location"].startswith(api.emu.root + "/")
    assert "Pipeline created at" in full["buildLog"]
    assert_envelope(api("GET", f"/apps/{GIT_APP}/packages/{pkg['id']}", params={"url": "yes"}), 400, names=["url"])


def test_download_honours_range_and_rejects_forged_links(api):
    pkg = api.built_package()
    location = api("GET", f"/apps/{GIT_APP}/packages/{pkg['id']}", params={"url": "true"}).json()["package"]["url"]["location"]
    whole = requests.get(location, timeout=10).content
    part = requests.get(location, headers={"Range": "bytes=10-19"}, timeout=10)
    assert part.status_code == 206 and part.content == whole[10:20]
    forged = location[:-4] + ("0000" if not location.endswith("0000") else "1111")
    assert requests.get(forged, timeout=10).status_code == 403
    other = location.replace(pkg["id"], "00000000-0000-0000-0000-000000000000")
    assert requests.get(other, timeout=10).status_code == 403


def test_list_newest_first_with_paging(api):
    ids = [api.built_package(revision=rev)["id"] for rev in ("6f995268", "93de884c", "1c2d3e4f5a")]
    listed = api("GET", f"/apps/{GIT_APP}/packages").json()
    assert [p["id"] for p in listed["packages"]] == ids[::-1]
    assert listed["pagination"] == {"offset": 0, "limit": 20, "size": 3}
    page = api("GET", f"/apps/{GIT_APP}/packages", params={"offset": 1, "limit": 1}).json()
    assert [p["id"] for p in page["packages"]] == [ids[1]]
    assert page["pagination"] == {"offset": 1, "limit": 1, "size": 1}
    empty = api("GET", f"/apps/{GIT_APP}/packages", params={"offset": 3}).json()
    assert empty["pagination"]["size"] == 0
    assert "buildLog" not in listed["packages"][0]


def test_delete_runs_a_job_then_the_package_is_gone(api):
    pkg = api.built_package()
    resp = api("DELETE", f"/apps/{GIT_APP}/packages/{pkg['id']}")
    assert resp.status_code == 202
    assert resp.headers["Location"].endswith(f"/jobs/{resp.json()['id']}")
    assert resp.json()["details"] == "Request to delete deployment package."
    assert api.wait(resp.json()["id"])["status"] == "finished"
    assert_envelope(api("GET", f"/apps/{GIT_APP}/packages/{pkg['id']}"), 404)
    assert_envelope(api("DELETE", f"/apps/{GIT_APP}/packages/{pkg['id']}"), 404)


def test_packages_are_per_app(api):
    pkg = api.built_package()
    assert_envelope(api("GET", f"/apps/{SVN_APP}/packages/{pkg['id']}"), 404)

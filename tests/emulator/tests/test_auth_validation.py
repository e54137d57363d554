"""Authentication, scopes and request validation, as the Build API documents them."""

import pytest

from emutest import ADMIN, GIT_APP, NO_MODELREPO, READONLY, assert_envelope


def test_missing_header_is_401(api):
    resp = api.with_token(None)("GET", f"/apps/{GIT_APP}/packages")
    body = assert_envelope(resp, 401, names=["Authentication"])
    assert body["error"]["invalid-params"][0]["reason"] == "Missing or invalid Authorization header"


@pytest.mark.parametrize("header", ["Bearer " + ADMIN, ADMIN, "MxToken", "mxtoken " + ADMIN])
def test_malformed_header_is_401(api, header):
    resp = api.with_token(None)("GET", f"/apps/{GIT_APP}/packages", headers={"Authorization": header})
    assert_envelope(resp, 401)


def test_unknown_token_is_403(api):
    body = assert_envelope(api.with_token("not-a-token")("GET", f"/apps/{GIT_APP}/packages"), 403)
    assert body["error"]["invalid-params"][0]["reason"] == "The token is not accepted"


def test_build_needs_both_scopes(api):
    resp = api.with_token(NO_MODELREPO).build()
    assert_envelope(resp, 403, message_has="mx:modelrepository:write")
    resp = api.with_token(READONLY).build()
    assert_envelope(resp, 403, message_has="mx:privatecloud-build:write")


def test_readonly_reads_but_cannot_write(api):
    pkg = api.built_package()
    ro = api.with_token(READONLY)
    assert ro("GET", f"/apps/{GIT_APP}/packages").status_code == 200
    assert ro("GET", f"/apps/{GIT_APP}/packages/{pkg['id']}").status_code == 200
    assert_envelope(ro("DELETE", f"/apps/{GIT_APP}/packages/{pkg['id']}"), 403, message_has="mx:privatecloud-build:write")
    assert_envelope(ro("POST", f"/apps/{GIT_APP}/packages", files={"file": b"x"}, data={"fileName": "a"}), 403,
                    message_has="mx:privatecloud-build:write")


def test_upload_and_delete_need_only_build_write(api, tmp_path):
    nm = api.with_token(NO_MODELREPO)
    pkg = api.built_package()
    assert nm("DELETE", f"/apps/{GIT_APP}/packages/{pkg['id']}").status_code == 202
    assert nm("POST", f"/apps/{GIT_APP}/packages", files={"file": ("a.mda", b"PK\x05\x06" + b"\0" * 18)},
              data={"fileName": "a"}).status_code == 202


def test_job_readable_with_read_scope(api):
    job = api.build().json()
    assert api.with_token(READONLY)("GET", f"/jobs/{job['id']}").status_code == 200


def test_unknown_job_is_404(api):
    assert_envelope(api("GET", "/jobs/00000000-0000-0000-0000-000000000000"), 404)


@pytest.mark.parametrize("app_id", ["not-a-uuid", "c533ee0b-f7db-4e62-868b-1192d392cce", "123"])
def test_an_app_id_that_is_no_uuid_is_not_found(api, app_id):
    assert_envelope(api("GET", f"/apps/{app_id}/packages"), 404, message_has=f"App {app_id} could not be found")


def test_unknown_app_is_404(api):
    app = "76ef1b0f-4050-4810-a159-cb419268636c"
    body = assert_envelope(api("GET", f"/apps/{app}/packages"), 404)
    assert body["error"]["message"] == f"App {app} could not be found"
    assert body["error"]["invalid-params"][0]["reason"] == f"App {app} could not be found"


@pytest.mark.parametrize("payload,field", [
    ({"revision": "abc"}, "branch"),
    ({"branch": "", "revision": "abc"}, "branch"),
    ({"branch": "b" * 201, "revision": "abc"}, "branch"),
    ({"branch": "main"}, "revision"),
    ({"branch": "main", "revision": ""}, "revision"),
    ({"branch": "main", "revision": "r" * 51}, "revision"),
    ({"branch": "main", "revision": "abc", "version": "1.2"}, "version"),
    ({"branch": "main", "revision": "abc", "version": "v1.2.3"}, "version"),
    ({"branch": "main", "revision": "abc", "version": "1.2.3.4"}, "version"),
    ({"branch": "main", "revision": "abc", "version": "1234567890.1234567.12"}, "version"),
    ({"branch": 5, "revision": "abc"}, "branch"),
])
def test_build_body_validation(api, payload, field):
    resp = api("POST", f"/apps/{GIT_APP}/packages/build", json=payload)
    assert_envelope(resp, 400, names=[field])


def test_build_limits_accepted_at_the_edges(api):
    assert api.build(branch="b" * 200, revision="r" * 50, version="1234567890.12345.123").status_code == 202
    assert api.build(branch="b", revision="r").status_code == 202


def test_build_body_must_be_json(api):
    resp = api("POST", f"/apps/{GIT_APP}/packages/build", data="branch=main", headers={"Content-Type": "application/json"})
    assert_envelope(resp, 400)


@pytest.mark.parametrize("query,field", [
    ({"limit": "0"}, "limit"), ({"limit": "51"}, "limit"), ({"limit": "x"}, "limit"), ({"offset": "-1"}, "offset"),
])
def test_paging_validation(api, query, field):
    assert_envelope(api("GET", f"/apps/{GIT_APP}/packages", params=query), 400, names=[field])


def test_a_package_id_that_is_no_uuid_is_not_found(api):
    # 404, the status the spec documents for these routes (it documents no 400 there)
    assert_envelope(api("GET", f"/apps/{GIT_APP}/packages/nope"), 404, message_has="Package nope could not be found")
    assert_envelope(api("DELETE", f"/apps/{GIT_APP}/packages/nope"), 404, message_has="Package nope could not be found")


@pytest.mark.parametrize("method,path,allow", [
    ("GET", f"/apps/{GIT_APP}/packages/build", "POST"),
    ("DELETE", f"/apps/{GIT_APP}/packages/build", "POST"),
    ("OPTIONS", f"/apps/{GIT_APP}/packages/build", "POST"),
    ("PUT", f"/apps/{GIT_APP}/packages", "GET,HEAD,POST"),
    ("POST", "/jobs/7b0e6a55-7c8e-4a5e-9a1c-2d3f4a5b6c7d", "GET,HEAD"),
])
def test_a_wrong_method_is_405_with_allow(api, method, path, allow):
    resp = api(method, path)
    assert_envelope(resp, 405, message_has="is not allowed")
    assert resp.headers["Allow"] == allow


def test_null_version_and_description_are_validation_errors(api):
    resp = api.build(version=None, description=None)
    assert_envelope(resp, 400, names=["version", "description"])


def test_unknown_route_is_404_envelope(api):
    assert_envelope(api("GET", "/nothing/here"), 404)

"""Unit tests of input checks and result shapes (package identity: test_identity.py)."""

import zipfile

import pytest

from ansible_collections.mendix.private_cloud.plugins.module_utils import _module as m


@pytest.mark.parametrize("value,ok", [
    ("c533ee0b-f7db-4e62-868b-1192d392ccec", True), ("C533EE0B-F7DB-4E62-868B-1192D392CCEC", True),
    ("c533ee0b-f7db-4e62-868b-1192d392cce", False), ("not-a-uuid", False), (None, False), ("", False),
])
def test_check_uuid(value, ok):
    errors = m.check_uuid("app_id", value)
    assert (errors == []) is ok
    if not ok:
        assert errors[0].startswith("app_id must be a UUID")


@pytest.mark.parametrize("branch,revision,version,field", [
    ("", "1", None, "branch"), ("b" * 201, "1", None, "branch"), (None, "1", None, "branch"),
    ("main", "", None, "revision"), ("main", "r" * 51, None, "revision"),
    ("main", "1", "1.2", "version"), ("main", "1", "v1.2.3", "version"), ("main", "1", "1234567890.1234567.12", "version"),
])
def test_check_build(branch, revision, version, field):
    errors = m.check_build(branch, revision, version)
    assert len(errors) == 1 and errors[0].startswith(field + " must")


def test_check_build_accepts_edges():
    assert m.check_build("b" * 200, "r" * 50, "1234567890.12345.123") == []


def test_check_src(tmp_path):
    missing = tmp_path / "missing.mda"
    assert "does not exist" in m.check_src(str(missing))[0]
    assert "is a directory" in m.check_src(str(tmp_path))[0]
    empty = tmp_path / "empty.mda"
    empty.write_bytes(b"")
    assert "is empty" in m.check_src(str(empty))[0]
    text = tmp_path / "text.mda"
    text.write_text("hello")
    assert "not a zip archive" in m.check_src(str(text))[0]
    good = tmp_path / "good.mda"
    with zipfile.ZipFile(good, "w") as archive:
        archive.writestr("a", "b")
    assert m.check_src(str(good)) == []


def test_check_file_name():
    assert m.check_file_name(None) == [] and m.check_file_name("a.mda") == []
    assert m.check_file_name("dir/a.mda") and m.check_file_name("")


def test_snake_case_keys_match_ansible():
    from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict  # pylint: disable=import-outside-toplevel

    obj = {"modelVersion": "1", "url": {"location": "u", "ttl": 1}, "fileSize": 2, "appId": "a", "buildLog": "x",
           "error": {"code": 400, "message": "m"}, "log": {"build": "b"}, "packageId": "p", "HTTPStatus": 1,
           "items": [{"runtimeVersion": "9"}]}
    assert m.snake(obj) == camel_dict_to_snake_dict(obj)
    assert m.snake({"modelVersion": "1"}) == {"model_version": "1"}
    assert m.snake(None) is None


def test_job_report_has_one_shape_on_success_and_failure():
    started = {"id": "j1", "status": "created", "details": "d", "location": "http://x/api/v4/jobs/j1"}
    keys = {"id", "status", "details", "location", "package_id", "error", "elapsed", "polls", "log_tail"}
    assert set(m.job_report(started)) == keys
    finished = m.job_report(started, {"id": "j1", "status": "finished", "elapsed": 1.5, "polls": 3, "package_id": "p",
                                      "job": {"id": "j1", "status": "finished", "packageId": "p", "details": "d"}})
    assert set(finished) == keys and finished["package_id"] == "p" and finished["location"] == started["location"]
    failed = m.job_report(started, {"id": "j1", "status": "failed", "elapsed": 2.0, "polls": 4, "package_id": None,
                                    "job": {"id": "j1", "status": "created", "error": {"message": "boom"}}, "log_tail": "t"})
    assert set(failed) == keys and failed["status"] == "failed" and failed["error"] == {"message": "boom"}
    assert "job" not in failed and failed["log_tail"] == "t"


@pytest.mark.parametrize("url,warn", [
    ("http://api.example.test/api/v4", True), ("HTTP://10.0.0.5:8080/api/v4", True),
    ("http://127.0.0.1:8080/api/v4", False), ("http://localhost/api/v4", False), ("http://[::1]:80/api/v4", False),
    ("https://privatecloud.mendixcloud.com/api/v4", False),
])
def test_plain_http_to_another_host_is_told(url, warn):
    assert m.plain_http_off_loopback(url) is warn

"""Unit tests of input checks and idempotency matching."""

import zipfile

import pytest

from ansible_collections.mendix.private_cloud.plugins.module_utils import _module as m

GIT = "6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4"


@pytest.mark.parametrize("model_version,version,revision,expected", [
    ("1.0.1.6f995268", "1.0.1", GIT, True),
    ("1.0.1.6f995268", None, GIT, True),
    ("1.0.1.6f995268", "1.0.2", GIT, False),
    ("1.0.1.6f995268", None, "6f99526", True),
    ("1.0.1.6f995268", None, "6f99", False),
    ("1.0.1.6f995268", None, "93de884c0b1a2d3e4f50", False),
    ("1.3.0.623", "1.3.0", "623", True),
    ("1.3.0.623", None, "623", True),
    ("1.3.0.6230", None, "623", False),
    ("1.3.0.62", None, "623", False),
    ("1.0.0.12345678", None, "1234567890", False),
    ("", None, "623", False),
])
def test_build_matches(model_version, version, revision, expected):
    assert m.build_matches({"modelVersion": model_version}, version, revision) is expected


def test_find_build_prefers_newest_and_honours_exclude():
    pkgs = [{"id": "new", "modelVersion": "1.0.0.6f995268"}, {"id": "old", "modelVersion": "1.0.0.6f995268"}]
    assert m.find_build(pkgs, "1.0.0", GIT)["id"] == "new"
    assert m.find_build(pkgs, "1.0.0", GIT, exclude={"new"})["id"] == "old"
    assert m.find_build(pkgs, "2.0.0", GIT) is None


def test_find_upload_matches_name_after_mda_and_size():
    pkgs = [{"id": "a", "fileName": "app.mda", "fileSize": 10}, {"id": "b", "fileName": "app.mda", "fileSize": 11}]
    assert m.find_upload(pkgs, "app", 11)["id"] == "b"
    assert m.find_upload(pkgs, "app.mda", 10)["id"] == "a"
    assert m.find_upload(pkgs, "app.MDA", 10) is None
    assert m.find_upload(pkgs, "other", 10) is None


def test_mda_name():
    assert m.mda_name("x") == "x.mda" and m.mda_name("x.mda") == "x.mda" and m.mda_name("x.MDA") == "x.MDA"


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


def test_filter_packages():
    pkgs = [{"fileName": "a.mda", "modelVersion": "1.2.0.1"}, {"fileName": "b.mda", "modelVersion": "1.3.0.2"}]
    assert m.filter_packages(pkgs) == pkgs
    assert m.filter_packages(pkgs, file_name="a") == pkgs[:1]
    assert m.filter_packages(pkgs, model_version="1.3.0.2") == pkgs[1:]
    assert m.filter_packages(pkgs, model_version_prefix="1.2.") == pkgs[:1]
    assert m.filter_packages(pkgs, file_name="a", model_version_prefix="1.3.") == []

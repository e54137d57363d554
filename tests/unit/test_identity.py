"""The package identity rules, against every naming, order and version control case the API's docs allow."""

import datetime
import hashlib
import random
import re

import pytest

from ansible_collections.mendix.private_cloud.plugins.module_utils import _identity as ident

GIT = "6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4"
DIGITS = "2718281828459045235360287471352662497757"  # a git hash made of digits only


def pkg(model_version, file_name, description=None, pid="p", created="2026-01-01T00:00:00.000Z"):
    out = {"id": pid, "modelVersion": model_version, "fileName": file_name, "createdOn": created}
    if description is not None:
        out["description"] = description
    return out


def verdict(p, branch, revision, version=None, vcs=None):
    return ident.build_identity(p, branch, revision, version, vcs)[0]


# ---------------------------------------------------------------------- documented names
@pytest.mark.parametrize("package,branch,revision,version,vcs,expected", [
    # git: <version>.<first 8 of the hash>, <branch>-<modelVersion>.mda
    (pkg("1.0.1.6f995268", "main-1.0.1.6f995268.mda"), "main", GIT, "1.0.1", None, ident.MATCH),
    (pkg("1.0.1.6f995268", "main-1.0.1.6f995268.mda"), "main", GIT[:7], "1.0.1", None, ident.MATCH),
    (pkg("1.0.1.6f995268", "main-1.0.1.6f995268.mda"), "main", GIT[:6], "1.0.1", None, ident.OTHER),
    (pkg("1.0.1.6f995268", "main-1.0.1.6f995268.mda"), "main", GIT, "1.0.2", None, ident.OTHER),
    (pkg("1.0.0.6f995268", "main-1.0.0.6f995268.mda"), "main", GIT, None, None, ident.MATCH),  # default version
    (pkg("2.0.0.6f995268", "main-2.0.0.6f995268.mda"), "main", GIT, None, None, ident.OTHER),
    # a misspelled branch on a built commit is not that package
    (pkg("1.0.1.6f995268", "main-1.0.1.6f995268.mda"), "mian", GIT, "1.0.1", None, ident.UNTIED),
    # branch names with a slash, in the forms a file name may carry them
    (pkg("1.0.0.b7c8d9e0", "featurelogin-page-1.0.0.b7c8d9e0.mda"), "feature/login-page", "b7c8d9e0f1", None, None, ident.MATCH),
    (pkg("1.0.0.b7c8d9e0", "feature-login-page-1.0.0.b7c8d9e0.mda"), "feature/login-page", "b7c8d9e0f1", None, None, ident.MATCH),
    # SVN: <version>.<revision>; trunk is named MainLine
    (pkg("1.3.0.623", "MainLine-1.3.0.623.mda"), "trunk", "623", "1.3.0", None, ident.MATCH),
    (pkg("1.3.0.623", "MainLine-1.3.0.623.mda"), "release-1.2", "623", "1.3.0", None, ident.UNTIED),
    (pkg("1.3.0.623", "release-1.2-1.3.0.623.mda"), "release-1.2", "623", "1.3.0", None, ident.MATCH),
    (pkg("1.3.0.623", "release-1.2-1.3.0.623.mda"), "trunk", "623", "1.3.0", None, ident.UNTIED),
    (pkg("1.3.0.6230", "MainLine-1.3.0.6230.mda"), "trunk", "623", "1.3.0", None, ident.OTHER),
    (pkg("1.3.0.62", "MainLine-1.3.0.62.mda"), "trunk", "623", "1.3.0", None, ident.OTHER),
    # digits-only git hashes: full and short are found once the app is known to be git
    (pkg("1.0.0.27182818", "release-2-1.0.0.27182818.mda"), "release-2", DIGITS, None, "git", ident.MATCH),
    (pkg("1.0.0.27182818", "release-2-1.0.0.27182818.mda"), "release-2", DIGITS[:7], None, "git", ident.MATCH),
    (pkg("1.0.0.27182818", "release-2-1.0.0.27182818.mda"), "release-2", DIGITS[:8], None, None, ident.MATCH),
    # unknown git or SVN: a hash prefix ties nothing
    (pkg("1.0.0.27182818", "release-2-1.0.0.27182818.mda"), "release-2", DIGITS, None, None, ident.UNTIED),
    (pkg("1.0.0.27182818", "release-2-1.0.0.27182818.mda"), "release-2", DIGITS[:7], None, None, ident.OTHER),
    # SVN with many revisions: a 7-digit revision is not the prefix of another
    (pkg("1.0.0.12345678", "MainLine-1.0.0.12345678.mda"), "trunk", "1234567", None, "svn", ident.OTHER),
    (pkg("1.0.0.12345678", "MainLine-1.0.0.12345678.mda"), "trunk", "123456789", None, "svn", ident.OTHER),
    # opaque names (no documented format): nothing ties them
    (pkg("1.0.0.k3j4h5", "0b6f8d2e-1c1e-4a53-9a3c-3f0b8e5b2d11.mda"), "main", GIT, None, "git", ident.OTHER),
    (pkg("", "x.mda"), "main", "623", None, None, ident.OTHER),
])
def test_documented_names(package, branch, revision, version, vcs, expected):
    assert verdict(package, branch, revision, version, vcs) == expected


# ---------------------------------------------------------------------- the marker
def test_marker_round_trip_keeps_the_users_description_in_front():
    text = ident.described("Release 1.2 \"quoted\"", "feature/x y", "623", None)
    assert text.startswith("Release 1.2 \"quoted\" [mendix.private_cloud: ")
    user, fields = ident.parse_marker(text)
    assert user == "Release 1.2 \"quoted\""
    assert fields == {"branch": "feature/x y", "revision": "623", "version": "1.0.0"}
    assert ident.parse_marker("plain text") == ("plain text", None)
    assert ident.parse_marker(None) == ("", None)
    assert ident.parse_marker('x [mendix.private_cloud: branch="a"]')[1] is None  # incomplete: not a marker


@pytest.mark.parametrize("marker_args,branch,revision,version,vcs,expected", [
    (("main", GIT, "1.0.1"), "main", GIT, "1.0.1", None, ident.MATCH),
    (("main", GIT, "1.0.1"), "main", GIT[:7], "1.0.1", "git", ident.MATCH),
    (("main", GIT[:7], "1.0.1"), "main", GIT, "1.0.1", "git", ident.MATCH),
    (("main", GIT, "1.0.1"), "mian", GIT, "1.0.1", None, ident.OTHER),
    (("main", GIT, "1.0.1"), "main", GIT, "1.0.2", None, ident.OTHER),
    (("trunk", "623", "1.3.0"), "release-1.2", "623", "1.3.0", None, ident.OTHER),
    (("release-1.2", "623", "1.3.0"), "release-1.2", "623", "1.3.0", None, ident.MATCH),
    (("release-2", DIGITS[:7], None), "release-2", DIGITS[:7], None, None, ident.MATCH),  # digits-only short hash, re-run
    (("release-2", DIGITS, None), "release-2", DIGITS, None, None, ident.MATCH),
    (("trunk", "1234567", None), "trunk", "12345678", None, "svn", ident.OTHER),
    (("release-2", DIGITS[:7], None), "release-2", DIGITS, None, None, ident.UNTIED),  # git or SVN unknown: untied
    (("release-2", DIGITS[:7], None), "release-2", DIGITS, None, "git", ident.MATCH),
])
def test_marker_decides_whatever_the_names(marker_args, branch, revision, version, vcs, expected):
    for file_name, model_version in (("opaque.mda", "1.0.0.zz"), ("main-1.0.1.6f995268.mda", "1.0.1.6f995268")):
        package = pkg(model_version, file_name, ident.described("mine", *marker_args))
        assert verdict(package, branch, revision, version, vcs) == expected


# ---------------------------------------------------------------------- git or SVN
def test_vcs_is_never_guessed_from_digits():
    assert ident.vcs_of_revision("623") is None and ident.vcs_of_revision(DIGITS) is None
    assert ident.vcs_of_revision(GIT) == "git"
    assert ident.resolve_vcs("svn", GIT, []) == "svn" and ident.resolve_vcs("git", "623", []) == "git"
    assert ident.resolve_vcs("auto", DIGITS, []) is None


def test_vcs_from_history():
    git = pkg("1.0.0.6f995268", "main-1.0.0.6f995268.mda")
    svn = pkg("1.0.0.623", "MainLine-1.0.0.623.mda")
    digits = pkg("1.0.0.27182818", "main-1.0.0.27182818.mda")
    opaque = pkg("1.0.0.abcdef12", "0b6f8d2e.mda")
    assert ident.vcs_from_history([git]) == "git"
    assert ident.vcs_from_history([svn]) == "svn"
    assert ident.vcs_from_history([digits, opaque]) is None
    assert ident.resolve_vcs("auto", DIGITS, [digits, git]) == "git"


def test_predicted_model_version():
    assert ident.predicted_model_version(None, GIT, "git") == "1.0.0.6f995268"
    assert ident.predicted_model_version("1.0.1", GIT.upper(), "git") == "1.0.1.6f995268"
    assert ident.predicted_model_version("1.3.0", "623", None) == "1.3.0.623"
    assert ident.predicted_model_version("1.3.0", "623", "svn") == "1.3.0.623"
    assert ident.predicted_model_version(None, DIGITS, "git") == "1.0.0.27182818"
    assert ident.predicted_model_version(None, DIGITS, None) is None
    assert ident.predicted_model_version(None, GIT[:7], "git") is None
    # vcs unknown: a 7-digit revision may be an SVN revision or a git hash's first 7 characters
    assert ident.predicted_model_version(None, DIGITS[:7], None) is None
    assert "digits only" in ident.model_version_unknown(DIGITS[:7], None)
    assert ident.predicted_model_version(None, DIGITS[:8], None) == "1.0.0.27182818"  # the same either way
    assert ident.predicted_model_version(None, DIGITS[:7], "svn") == "1.0.0.2718281"
    assert ident.predicted_model_version(None, GIT[:7], None) is None  # hex: git, 7 characters
    assert ident.predicted_model_version(None, GIT[:10], None) == "1.0.0.6f995268"
    assert ident.model_version_unknown("623", None) is None


# ---------------------------------------------------------------------- order and finding
def test_newest_is_the_latest_created_on_in_any_list_order():
    packages = [pkg("1.0.0.6f995268", "main-1.0.0.6f995268.mda", pid=f"p{i}", created=f"2026-01-0{i}T10:00:00.{i}00Z")
                for i in range(1, 6)]
    packages.append(pkg("1.0.0.6f995268", "main-1.0.0.6f995268.mda", pid="p0", created="2026-01-05T11:00:00+01:00"))
    rng = random.Random(7)
    for dummy in range(20):
        shuffled = packages[:]
        rng.shuffle(shuffled)
        assert [p["id"] for p in ident.newest_first(shuffled)] == ["p5", "p0", "p4", "p3", "p2", "p1"]
        assert ident.find_build(shuffled, "main", GIT, None, "git")[0]["id"] == "p5"
    odd = pkg("1.0.0.6f995268", "main-1.0.0.6f995268.mda", pid="odd", created="yesterday")
    assert ident.newest_first([odd] + packages)[-1]["id"] == "odd"


def strptime_key(created):
    """createdOn read by strptime, as created_key did before it was made faster: the reference it must agree with."""
    match = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$", created)
    if not match:
        return float("-inf")
    fraction = (match.group(2) or ".0")[1:7].ljust(6, "0")
    zone = (match.group(3) or "+00:00").replace("Z", "+00:00").replace(":", "")
    try:
        return datetime.datetime.strptime("%s.%s%s" % (match.group(1), fraction, zone), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    except ValueError:
        return float("-inf")


def test_created_key_reads_every_form_of_created_on_as_strptime_does():
    forms = ["2026-01-05T11:00:00Z", "2026-01-05T11:00:00.5Z", "2026-01-05T11:00:00.123456789Z", "2026-01-05T11:00:00",
             "2026-01-05T11:00:00+01:00", "2026-01-05T11:00:00-0930", "2026-01-05T11:00:00.25+05:45",
             "2024-02-29T23:59:59.999999Z", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-05T24:00:00Z",
             "2026-01-05T11:60:00Z", "2026-01-05T11:00:60Z", "2026-01-05T11:00:00+24:00", "2026-01-05T11:00:00+23:59", "2026-01-05T11:00:00+01:60",
             "0000-01-01T00:00:00Z", "yesterday", "", "2026-01-05 11:00:00Z", "2026-01-05T11:00:00.Z"]
    rng = random.Random(3)
    for dummy in range(300):
        forms.append("%04d-%02d-%02dT%02d:%02d:%02d%s%s" % (
            rng.randint(1, 9999), rng.randint(0, 13), rng.randint(0, 32), rng.randint(0, 25), rng.randint(0, 61),
            rng.randint(0, 61), rng.choice(["", ".1", ".000", ".1234567"]),
            rng.choice(["", "Z", "+00:00", "-12:30", "+1400", "+99:99", "%+03d:%02d" % (rng.randint(-25, 25), rng.randint(0, 61))])))
    for created in forms:
        assert ident.created_key({"createdOn": created, "id": "x"}) == (strptime_key(created), "x"), created


def test_find_build_honours_exclude_and_reports_untied():
    trunk = pkg("1.3.0.623", "MainLine-1.3.0.623.mda", pid="trunk")
    found, untied = ident.find_build([trunk], "release-1.2", "623", "1.3.0", None)
    assert found is None and [p["id"] for p, dummy in untied] == ["trunk"]
    assert "does not name branch release-1.2" in ident.untied_warning(untied, "release-1.2", "623", "1.3.0")
    assert ident.find_build([trunk], "trunk", "623", "1.3.0", None, exclude={"trunk"}) == (None, [])


# ---------------------------------------------------------------------- uploads
def test_upload_name_carries_the_content(tmp_path):
    path = tmp_path / "my-app_2.2.1.mda"
    path.write_bytes(b"one")
    digest = ident.file_digest(str(path))
    assert digest == hashlib.sha256(b"one").hexdigest()
    assert ident.upload_name("my-app_2.2.1.mda", digest) == f"my-app_2.2.1.sha256-{digest[:16]}.mda"
    assert ident.upload_name("my-app", digest) == f"my-app.sha256-{digest[:16]}.mda"
    assert ident.upload_name(f"my-app.sha256-{'0' * 16}.mda", digest) == f"my-app.sha256-{digest[:16]}.mda"
    assert ident.upload_name("x", None) == "x.mda" and ident.upload_name("x.MDA", None) == "x.MDA"


def test_find_upload_needs_name_and_size():
    stored = "app.sha256-0123456789abcdef.mda"
    packages = [{"id": "a", "fileName": stored, "fileSize": 10, "createdOn": "2026-01-01T00:00:00Z"},
                {"id": "b", "fileName": stored, "fileSize": 11, "createdOn": "2026-01-02T00:00:00Z"}]
    assert ident.find_upload(packages, stored, 11)["id"] == "b"
    assert ident.find_upload(packages, stored, 10)["id"] == "a"
    assert ident.find_upload(packages, "app.mda", 10) is None


def test_filter_packages():
    pkgs = [pkg("1.2.0.1", "a.mda", pid="a", created="2026-01-02T00:00:00Z"),
            pkg("1.3.0.2", "b.mda", pid="b", created="2026-01-01T00:00:00Z")]
    assert ident.filter_packages(pkgs[::-1]) == pkgs
    assert ident.filter_packages(pkgs, file_name="a") == pkgs[:1]
    assert ident.filter_packages(pkgs, model_version="1.3.0.2") == pkgs[1:]
    assert ident.filter_packages(pkgs, model_version_prefix="1.2.") == pkgs[:1]
    assert ident.filter_packages(pkgs, file_name="a", model_version_prefix="1.3.") == []
    built = pkg("1.0.0.6f995268", "main-1.0.0.6f995268.mda", pid="m")
    assert ident.filter_packages(pkgs + [built], build={"branch": "main", "revision": GIT}) == [built]
    assert ident.filter_packages(pkgs + [built], build={"branch": "other", "revision": GIT}) == []


def test_the_collections_marker_proves_git_with_any_names():
    """A build this collection started names its revision in its marker: a hash with a letter proves git, whatever the
    file is called (opaque names); a digits-only revision proves nothing."""
    git = {"fileName": "0f1e2d3c.mda", "modelVersion": "1.0.0.6f995268",
           "description": ident.described(None, "main", GIT, "1.0.0")}
    digits = {"fileName": "a1b2.mda", "modelVersion": "1.0.0.623", "description": ident.described(None, "trunk", "623", "1.0.0")}
    assert ident.vcs_from_history([git]) == "git"
    assert ident.vcs_from_history([digits]) is None

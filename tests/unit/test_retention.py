"""Unit tests of the retention rules (which packages a prune deletes) and of reading a package's branch."""

import datetime

import pytest

from ansible_collections.mendix.private_cloud.plugins.module_utils._identity import package_origin
from ansible_collections.mendix.private_cloud.plugins.module_utils._retention import DELETE, KEEP, parse_duration, plan

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.timezone.utc).timestamp()


def pkg(pid, days_ago, file_name, model_version="1.0.0.1", description=None):
    stamp = datetime.datetime.fromtimestamp(NOW - days_ago * 86400, datetime.timezone.utc)
    return {"id": pid, "createdOn": stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "fileName": file_name,
            "modelVersion": model_version, "description": description}


@pytest.mark.parametrize("text,seconds", [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("2w", 1209600),
                                          ("3600s", 3600), (" 7 d ", 7 * 86400), ("0d", 0)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", "d", "1.5d", "-1d", "30 days", "", None, "1y"])
def test_not_durations(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize("package,origin", [
    (pkg("a", 0, "main-1.0.0.6f995268.mda", "1.0.0.6f995268"), ("main", "6f995268")),
    (pkg("b", 0, "MainLine-2.1.0.623.mda", "2.1.0.623"), ("trunk", "623")),
    (pkg("c", 0, "release-1.2-1.2.0.601.mda", "1.2.0.601"), ("release-1.2", "601")),
    (pkg("d", 0, "opaque.mda", "1.0.0.6f995268"), (None, None)),
    (pkg("e", 0, "my-app.sha256-0123456789abcdef.mda", "2.2.1.19665"), (None, None)),
    (pkg("f", 0, "x.mda", "1.0.0.1",
         description='nightly [mendix.private_cloud: branch="feature/a" revision="abc1234" version="1.0.0"]'),
     ("feature/a", "abc1234")),
    (pkg("g", 0, "-1.0.0.1.mda", "1.0.0.1"), (None, None)),
    (pkg("h", 0, "main-1.0.mda", "1.0"), (None, None)),
])
def test_package_origin(package, origin):
    assert package_origin(package) == origin


def verdicts(decisions):
    return [(p["id"], action) for p, _branch, action, _reason in decisions]


PACKAGES = [
    pkg("m1", 1, "main-1.0.0.1.mda"), pkg("m2", 2, "main-1.0.0.2.mda", "1.0.0.2"), pkg("m3", 40, "main-1.0.0.3.mda", "1.0.0.3"),
    pkg("m4", 50, "main-1.0.0.4.mda", "1.0.0.4"), pkg("f1", 45, "feat-1.0.0.5.mda", "1.0.0.5"),
    pkg("u1", 60, "app.sha256-0123456789abcdef.mda", "2.2.1.1"), pkg("u2", 1, "app.sha256-fedcba9876543210.mda", "2.2.1.2"),
]


def test_keep_per_branch_keeps_unknown_branches():
    # u2 and m1 are of the same second: the later id comes first
    assert verdicts(plan(list(reversed(PACKAGES)), NOW, keep=2)) == [
        ("u2", KEEP), ("m1", KEEP), ("m2", KEEP), ("m3", DELETE), ("f1", KEEP), ("m4", DELETE), ("u1", KEEP)]


def test_keep_zero_deletes_every_package_of_a_known_branch():
    assert [i for i, a in verdicts(plan(PACKAGES, NOW, keep=0)) if a == DELETE] == ["m1", "m2", "m3", "f1", "m4"]


def test_older_than_alone_deletes_by_age_whatever_the_branch():
    assert [i for i, a in verdicts(plan(PACKAGES, NOW, older_than=30 * 86400)) if a == DELETE] == ["m3", "f1", "m4", "u1"]


def test_keep_and_older_than_both_must_allow_it():
    # m2 is beyond the newest 1 of main but young; f1 is old but the newest of its branch; u1 old, branch unknown
    assert [i for i, a in verdicts(plan(PACKAGES, NOW, keep=1, older_than=30 * 86400)) if a == DELETE] == ["m3", "m4", "u1"]


def test_deployed_and_keep_ids_always_stay_and_ids_compare_lower_case():
    decisions = plan(PACKAGES, NOW, keep=0, deployed={"m3"}, keep_ids={"m4"})
    assert [i for i, a in verdicts(decisions) if a == DELETE] == ["m1", "m2", "f1"]
    reasons = dict((p["id"], r) for p, _b, _a, r in decisions)
    assert reasons["m3"] == "an environment of the app runs it (keep_deployed)" and reasons["m4"] == "listed in keep_ids"


def test_an_unreadable_date_is_kept_by_age_and_counts_as_oldest():
    odd = dict(pkg("x", 0, "main-1.0.0.9.mda", "1.0.0.9"), createdOn="yesterday")
    assert verdicts(plan(PACKAGES[:2] + [odd], NOW, older_than=0)) == [("m1", DELETE), ("m2", DELETE), ("x", KEEP)]
    assert verdicts(plan(PACKAGES[:2] + [odd], NOW, keep=2)) == [("m1", KEEP), ("m2", KEEP), ("x", DELETE)]


def test_ties_in_created_on_are_broken_by_id_whatever_the_list_order():
    same = [pkg("b", 3, "main-1.0.0.1.mda"), pkg("a", 3, "main-1.0.0.2.mda", "1.0.0.2"), pkg("c", 3, "main-1.0.0.3.mda", "1.0.0.3")]
    first = verdicts(plan(same, NOW, keep=1))
    assert first == verdicts(plan(list(reversed(same)), NOW, keep=1)) == [("c", KEEP), ("b", DELETE), ("a", DELETE)]

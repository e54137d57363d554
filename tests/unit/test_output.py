"""Unit tests of the one output filter (write-only material never leaves a module) and of the deploy record that
retention reads."""

from ansible_collections.mendix.private_cloud.plugins.module_utils._journal import Journal
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import snake
from ansible_collections.mendix.private_cloud.plugins.module_utils._output import public, secret_paths
from ansible_collections.mendix.private_cloud.plugins.module_utils._retention import DELETE, KEEP, plan

MANIFEST = {
    "id": "acc",
    "properties": {"name": "Acceptance", "secretsStoreEnabled": True},
    "network": {"outgoingConnectionCertificate": [
        {"enabled": True, "certificateType": "Client", "key": "UEZY", "password": "cGFzcw=="}]},
    "runtime": {"runtimeVersion": "10.6", "mxAdminPassword": "YWRtaW4=", "debuggerPassword": "ZGJn",
                "subscriptionSecret": "c3Vi", "environmentVariables": [{"name": "TZ", "value": "UTC"}]},
}


def test_public_removes_every_write_only_field_and_keeps_the_rest():
    shown = public(MANIFEST)
    assert shown["network"]["outgoingConnectionCertificate"] == [{"enabled": True, "certificateType": "Client"}]
    assert shown["runtime"] == {"runtimeVersion": "10.6", "environmentVariables": [{"name": "TZ", "value": "UTC"}]}
    assert shown["properties"] == {"name": "Acceptance", "secretsStoreEnabled": True}  # a switch, not a secret
    assert MANIFEST["runtime"]["mxAdminPassword"] == "YWRtaW4="  # the input is not changed


def test_public_works_on_snake_case_and_namespaces():
    shown = public(snake(MANIFEST))
    assert shown["network"]["outgoing_connection_certificate"] == [{"enabled": True, "certificate_type": "Client"}]
    assert "mx_admin_password" not in shown["runtime"] and "subscription_secret" not in shown["runtime"]
    assert public({"name": "ns", "secret": "c2VjcmV0", "enableExternalSecretsStore": False}) == {
        "name": "ns", "enableExternalSecretsStore": False}


def test_secret_paths_name_each_write_only_field():
    assert sorted(secret_paths(MANIFEST, "manifest.environment")) == [
        "manifest.environment.network.outgoingConnectionCertificate[0].key",
        "manifest.environment.network.outgoingConnectionCertificate[0].password",
        "manifest.environment.runtime.debuggerPassword",
        "manifest.environment.runtime.mxAdminPassword",
        "manifest.environment.runtime.subscriptionSecret",
    ]


def test_the_deploy_record_survives_and_is_replaced_whole(tmp_path):
    journal = Journal(str(tmp_path))
    assert journal.get_record("k.deployed") is None
    journal.put_record("k.deployed", {"previous_package_id": "a", "package_id": "b"})
    journal.put_record("k.deployed", {"previous_package_id": "b", "package_id": "c"})
    record = journal.get_record("k.deployed")
    assert record["previous_package_id"] == "b" and record["package_id"] == "c" and record["written"] > 0
    assert [p.name for p in tmp_path.iterdir()] == ["k.deployed.json"]  # no temporary file left


def test_a_held_lock_is_seen_by_try_lock(tmp_path):
    journal = Journal(str(tmp_path))
    with journal.lock("env", 1):
        assert journal.try_lock("env") is None
    lock = journal.try_lock("env")
    assert lock is not None
    lock.__exit__(None, None, None)


def test_retention_keeps_protected_packages_with_their_reason():
    packages = [{"id": "p%d" % n, "fileName": "main-1.0.%d.mda" % n, "createdOn": "2026-01-0%dT00:00:00Z" % n}
                for n in range(1, 4)]
    decisions = plan(packages, 1.9e9, older_than=60, protected={"p1": "the rollback target of environment acc"})
    by_id = dict((pkg["id"], (action, reason)) for pkg, dummy, action, reason in decisions)
    assert by_id["p1"] == (KEEP, "the rollback target of environment acc")
    assert by_id["p2"][0] == DELETE and by_id["p3"][0] == DELETE


def test_retention_prunes_only_the_branches_given():
    packages = [{"id": "m%d" % n, "fileName": "main-1.0.0.%d.mda" % n, "modelVersion": "1.0.0.%d" % n,
                 "createdOn": "2026-01-0%dT00:00:00Z" % n} for n in range(1, 3)]
    packages += [{"id": "f1", "fileName": "feature-1.0.0.9.mda", "modelVersion": "1.0.0.9", "createdOn": "2026-01-01T00:00:00Z"}]
    by_id = dict((pkg["id"], action) for pkg, dummy, action, dummy2 in plan(packages, 1.9e9, keep=0, branches=["main"]))
    assert by_id == {"m1": DELETE, "m2": DELETE, "f1": KEEP}

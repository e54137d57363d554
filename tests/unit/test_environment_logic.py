"""Unit tests of environments as code: merging the options into a manifest, and what differs between two manifests."""

import copy

from ansible_collections.mendix.private_cloud.plugins.module_utils._environment import (
    CLEAR_SECRET,
    MASK,
    apply_settings,
    diff_of,
    differences,
    encode_secret,
    merge_keyed,
    new_manifest,
    unknown_names,
)

CURRENT = {
    "manifestVersion": "2.0.0",
    "environment": {
        "id": "acc",
        "properties": {"name": "acc", "production": False, "environmentPurpose": "Test"},
        "deployment": {"appUrl": "https://acc.example.test", "packageId": "p1",
                       "constants": [{"name": "M.A", "value": "1"}, {"name": "M.B", "value": "2"}],
                       "scheduledEvents": [{"name": "M.E", "enabled": False}], "appLogLevels": []},
        "container": {"state": "Ready", "instances": 2, "lastRunningInstanceCount": 2,
                      "coreResources": {"limits": {"cpu": "1", "memory": "1"}, "requests": {"cpu": "1", "memory": "1"}}},
        "runtime": {"runtimeVersion": "10.18", "environmentVariables": [{"name": "A", "value": "a"}, {"name": "B", "value": "b"}]},
        "provider": {"clusterId": "c", "namespace": "n", "namespaceId": "ns"},
        "annotations": [],
        "services": [],
    },
}


def params(**given):
    keys = ("name", "production", "app_url", "constants", "scheduled_events", "environment_variables",
            "custom_runtime_settings", "app_log_levels", "annotations", "resources", "deployment_strategy", "manifest")
    out = dict((k, None) for k in keys)
    out.update(given)
    return out


def test_merge_keyed_updates_appends_and_removes_by_key_keeping_the_order():
    items = [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}, {"name": "c", "value": "3"}]
    merged = merge_keyed("constants", items, [("b", {"name": "b", "value": "20"}), ("d", {"name": "d", "value": "4"}),
                                              ("a", None)])
    assert merged == [{"name": "b", "value": "20"}, {"name": "c", "value": "3"}, {"name": "d", "value": "4"}]
    assert items[1]["value"] == "2"  # the input is not changed


def test_nothing_given_changes_nothing():
    assert differences(CURRENT, apply_settings(CURRENT, params())) == {}


def test_settings_are_merged_and_only_what_is_given_changes():
    desired = apply_settings(CURRENT, params(constants={"M.B": True}, scheduled_events={"M.E": True},
                                             environment_variables={"B": None, "C": 3},
                                             resources={"limits": {"cpu": "2", "memory": None, "ephemeral_storage": None},
                                                        "requests": None}), instances=3)
    assert differences(CURRENT, desired) == {
        "container.coreResources.limits.cpu": ("1", "2"),
        "container.instances": (2, 3),
        "deployment.constants[M.B].value": ("2", "true"),
        "deployment.scheduledEvents[M.E].enabled": (False, True),
        "runtime.environmentVariables[B].name": ("B", None),
        "runtime.environmentVariables[B].value": ("b", None),
        "runtime.environmentVariables[C].name": (None, "C"),
        "runtime.environmentVariables[C].value": (None, "3"),
    }
    assert CURRENT["environment"]["container"]["instances"] == 2  # the current manifest is not changed


def test_named_lists_in_another_order_are_no_change():
    other = copy.deepcopy(CURRENT)
    other["environment"]["runtime"]["environmentVariables"].reverse()
    other["environment"]["deployment"]["constants"].reverse()
    assert differences(CURRENT, other) == {}


def test_non_editable_fields_secrets_and_empty_lists_are_not_compared():
    other = copy.deepcopy(CURRENT)
    env = other["environment"]
    env["container"].update(state="Processing", lastRunningInstanceCount=7)
    env["properties"]["environmentPurpose"] = "Production"
    env["provider"]["namespace"] = "elsewhere"
    env["runtime"]["mxAdminPassword"] = "c2VjcmV0"
    env["deployment"]["appLogLevels"] = None
    env.pop("annotations")
    assert differences(CURRENT, other) == {}


def test_annotations_are_keyed_by_type_and_key():
    first = apply_settings(CURRENT, params(annotations=[{"key": "k", "value": "1", "type": "Pod"},
                                                        {"key": "k", "value": "2", "type": "Service"}]))
    assert len(first["environment"]["annotations"]) == 2
    second = apply_settings(first, params(annotations=[{"key": "k", "value": None, "type": "Pod"}]))
    assert second["environment"]["annotations"] == [{"annotationType": "Service", "key": "k", "value": "2"}]


def test_a_manifest_fragment_merges_objects_and_named_lists():
    desired = apply_settings(CURRENT, params(manifest={"environment": {
        "runtimeMetricsConfiguration": {"mode": "native"},
        "deployment": {"constants": [{"name": "M.A", "value": "9"}]},
        "container": {"coreResources": {"limits": {"cpu": "4"}}}}}))
    env = desired["environment"]
    assert env["deployment"]["constants"] == [{"name": "M.A", "value": "9"}, {"name": "M.B", "value": "2"}]
    assert env["container"]["coreResources"]["limits"] == {"cpu": "4", "memory": "1"}
    assert env["runtimeMetricsConfiguration"] == {"mode": "native"}


def test_deployment_strategy_names():
    desired = apply_settings(CURRENT, params(deployment_strategy={"type": "Reduced App Downtime", "max_surge": 25,
                                                                  "switch_over_threshold": None, "max_unavailable": None}))
    assert desired["environment"]["deploymentStrategy"] == {"runtimeDeploymentStrategyType": "Reduced App Downtime",
                                                            "maxSurge": 25}


def test_a_new_manifest_has_every_part_the_write_schema_requires():
    p = params(environment_id="acc", package_id="ABC", cluster_id="c", namespace="n", app_url="https://x.test")
    env = new_manifest(p, 0)["environment"]
    assert env["id"] == "acc" and env["properties"]["name"] == "acc" and env["deployment"]["packageId"] == "abc"
    assert env["container"] == {"instances": 0, "coreResources": {"limits": {"cpu": "1", "memory": "0.512"},
                                                                  "requests": {"cpu": "1", "memory": "0.512"}}}
    assert env["provider"] == {"clusterId": "c", "namespace": "n"} and env["services"] == []
    assert set(env["properties"]) == {"name", "production", "defaultStudioTarget", "secretsStoreEnabled"}


def test_secrets_are_encoded_cleared_and_masked():
    assert encode_secret("secret") == "c2VjcmV0" and encode_secret("") == CLEAR_SECRET
    diff = diff_of({"container.instances": (1, 2)}, ["mxAdminPassword"])
    assert diff == {"before": {"container.instances": 1, "runtime.mxAdminPassword": "(write-only)"},
                    "after": {"container.instances": 2, "runtime.mxAdminPassword": MASK}}


def test_names_the_model_does_not_define():
    assert unknown_names(CURRENT, {"constants": {"M.A": "1", "M.Z": "2"}, "scheduled_events": {"M.E": True}}) == [
        "constants: the app's model defines no constant named 'M.Z' (it defines: M.A, M.B)"]
    empty = copy.deepcopy(CURRENT)
    empty["environment"]["deployment"]["constants"] = []
    assert unknown_names(empty, {"constants": {"M.Z": "2"}}) == []  # nothing listed: nothing to check against

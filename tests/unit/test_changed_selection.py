"""The inner loop's choice of checks (tools/changed.py): a change is covered by the tests of what uses it."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools"))

import changed  # noqa: E402  pylint: disable=wrong-import-position


def names(paths):
    return {os.path.basename(p) for p in paths}


def test_a_module_change_runs_its_playbooks_tests_and_its_target_only():
    chosen = changed.select(["plugins/modules/mx_branch_info.py"])
    assert chosen["units"] == ["mx_branch_info"]
    assert {"test_branch_head.py", "test_examples.py"} <= names(chosen["pytest"])
    assert "test_eda.py" not in names(chosen["pytest"]) and "test_prune.py" not in names(chosen["pytest"])
    assert chosen["targets"] == ["mx_branch_info"]
    assert chosen["sanity"] == ["plugins/modules/mx_branch_info.py"]


def test_shared_code_reaches_every_module_that_imports_it():
    chosen = changed.select(["plugins/module_utils/_output.py"])
    assert {"mx_environment", "mx_environment_info"} <= set(chosen["units"])
    assert "test_environment.py" in names(chosen["pytest"])
    assert {"mx_environment", "mx_environment_info"} <= set(chosen["targets"])
    client = changed.select(["plugins/module_utils/_api.py"])
    assert {"mx_package", "mx_deployment", "mx_job_wait", "build_and_deploy"} <= set(client["units"])
    assert "role_build_and_deploy" in client["targets"]


def test_a_role_change_runs_the_role_tests_and_the_event_source_its_own():
    role = changed.select(["roles/build_and_deploy/tasks/main.yml"])
    assert {"test_deployment.py", "test_trust.py"} <= names(role["pytest"]) and role["targets"] == ["role_build_and_deploy"]
    eda = changed.select(["extensions/eda/plugins/event_source/mx_packages.py"])
    assert names(eda["pytest"]) == {"unit", "test_eda.py"} and eda["targets"] == []


def test_the_harness_and_the_emulator_widen_the_choice():
    harness = changed.select(["tests/integration/harness.py"])
    every_target = os.listdir(os.path.join(changed.ROOT, "tests", "integration", "targets"))
    assert len(harness["pytest"]) > 15 and len(harness["targets"]) == len(every_target)
    emulator = changed.select(["tests/emulator/src/mxpc_emulator/server.py"])
    assert "tests/emulator/tests" in emulator["pytest"]
    docs = changed.select(["docs/docsite/rst/guide_deployment.rst", "changelogs/fragments/x.yml"])
    assert docs["docs"] and docs["changelog"] and not docs["galaxy"]


def test_the_inventory_plugin_runs_its_own_tests_not_every_file_that_says_environments():
    chosen = changed.select(["plugins/inventory/environments.py"])
    assert names(chosen["pytest"]) == {"unit", "test_inventory.py"} and chosen["targets"] == []
    shared = changed.select(["plugins/module_utils/_output.py"])
    assert "environments" in shared["units"] and "test_inventory.py" in names(shared["pytest"])

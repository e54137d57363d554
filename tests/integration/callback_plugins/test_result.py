# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test harness callback: writes the fact ``test_result`` that a play sets to the file named by the extra var
``result_file``, on the controller, without running a module (a copy task cost a second per playbook run)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: test_result
type: aggregate
short_description: writes the play's test_result fact to result_file
description:
  - For the collection's integration tests only. Active without being enabled.
  - When a task sets the fact C(test_result), its value is written as JSON to the file the extra var
    C(result_file) names; a later task that sets it again replaces the file.
"""

import json
import os

from ansible.parsing.ajson import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "test_result"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._dest = None

    def v2_playbook_on_play_start(self, play):
        self._dest = play.get_variable_manager().extra_vars.get("result_file")

    def v2_runner_on_ok(self, result):
        facts = result._result.get("ansible_facts") or {}  # pylint: disable=protected-access
        if "test_result" not in facts or not self._dest:
            return
        partial = self._dest + ".part"
        with open(partial, "w") as handle:
            json.dump(facts["test_result"], handle, cls=AnsibleJSONEncoder, indent=4, sort_keys=True)
        os.chmod(partial, 0o600)
        os.rename(partial, self._dest)

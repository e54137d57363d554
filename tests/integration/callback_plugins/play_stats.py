# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test harness callback: the recap of each play, so that one playbook run can stand for many (one play each)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: play_stats
type: aggregate
short_description: writes each play's changed and failed task counts to play_stats_file
description:
  - For the collection's integration tests only. Active without being enabled.
  - When the extra var C(play_stats_file) is set, writes each play's ok, changed and failed task counts (by play
    name) to that file as JSON at the end of the run, counted as the play recap counts them.
"""

import json

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "play_stats"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._dest = None
        self._play = None
        self._stats = {}

    def v2_playbook_on_play_start(self, play):
        self._dest = play.get_variable_manager().extra_vars.get("play_stats_file")
        self._play = play.get_name()
        self._stats.setdefault(self._play, {"ok": 0, "changed": 0, "failed": 0})

    def v2_runner_on_ok(self, result):
        if self._play is not None:
            self._stats[self._play]["ok"] += 1
            if result._result.get("changed"):  # pylint: disable=protected-access
                self._stats[self._play]["changed"] += 1

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if self._play is not None and not ignore_errors:
            self._stats[self._play]["failed"] += 1

    def v2_runner_on_unreachable(self, result):
        if self._play is not None:
            self._stats[self._play]["failed"] += 1

    def v2_playbook_on_stats(self, stats):
        if self._dest:
            with open(self._dest, "w") as handle:
                json.dump(self._stats, handle, indent=2, sort_keys=True)

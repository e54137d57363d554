# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The action plugin every module of the collection runs through.

It gives each task the options of the ``mendix`` action group's ``module_defaults`` that the task leaves out,
including those the task names but templates to ``omit``. ansible-core merges ``module_defaults`` before it
templates a task's arguments, so an option written as ``"{{ x | default(omit) }}"`` hides the default even when it
ends up omitted; roles that pass options through (``build_and_deploy``) would lose the play's connection settings.
The environment variables (``MENDIX_PAT``, ``MENDIX_PRIVATE_CLOUD_URL``, ...) still apply last, in the module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

GROUP = "mendix"
COLLECTION = "mendix.private_cloud"


def group_defaults(task, templar, action):
    """The ``module_defaults`` that apply to ``action`` (a fully qualified module name): the groups that hold it, then
    the module's own entry, the later level of the play, block and task overriding the earlier as ansible-core does."""
    merged = {}
    for level in task.module_defaults or []:
        if isinstance(level, dict):
            merged.update(level)
    play = getattr(getattr(task, "_parent", None), "_play", None)
    groups = (getattr(play, "_action_groups", None) or {}).get(action, [])
    out = {}
    for name in ("group/%s" % g for g in groups):
        if isinstance(merged.get(name), (dict, str)):
            out.update(templar.template(merged[name]) or {})
    short = action.rsplit(".", 1)[-1]
    for name in (action, short, "%s.%s" % (COLLECTION, short)):
        if isinstance(merged.get(name), (dict, str)):
            out.update(templar.template(merged[name]) or {})
    return out


class MendixAction(ActionBase):
    """Run the module with the task's options, completed from the action group's module_defaults."""

    TRANSFERS_FILES = False

    def module_args(self):
        args = self._task.args.copy()
        action = self._task.resolved_action or ""
        for key, value in group_defaults(self._task, self._templar, action).items():
            args.setdefault(key, value)
        return args

    def run(self, tmp=None, task_vars=None):
        result = super(MendixAction, self).run(tmp, task_vars)
        del tmp
        result.update(self._execute_module(module_name=self._task.resolved_action, module_args=self.module_args(),
                                           task_vars=task_vars or {}))
        return result

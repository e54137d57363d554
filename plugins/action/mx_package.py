# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of mx_package: finds ``src`` (and each ``builds`` item's) on the controller as the copy module does,
and uploads from there; like every module of the collection, it completes the task's options from the action
group's module_defaults.

``src`` is a file on the controller, so a task with ``src`` runs the module on the controller whatever host the
task targets: the file is read where it is, never copied to the host first, and the host needs neither the
requests library nor the token. Tasks without ``src`` run where the task's connection says (for an API module that
is normally the controller: ``delegate_to: localhost``, or a play on localhost).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import connection_loader

from ansible_collections.mendix.private_cloud.plugins.plugin_utils._action import MendixAction


class ActionModule(MendixAction):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = ActionBase.run(self, tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        module_args = self.module_args()
        module_name = self._task.resolved_action or "mendix.private_cloud.mx_package"
        # src of the task, or of each item of builds
        found = False
        places = [("src", module_args)]
        builds = module_args.get("builds")
        if isinstance(builds, list):
            builds = module_args["builds"] = [dict(item) if isinstance(item, dict) else item for item in builds]
            places += [("builds[%d].src" % index, item) for index, item in enumerate(builds) if isinstance(item, dict)]
        for name, where in places:
            if not where.get("src"):
                continue
            try:
                where["src"] = self._find_needle("files", where["src"])
            except AnsibleError as exc:
                result.update(failed=True, changed=False,
                              msg="Invalid input: %s %s was not found on the controller (searched the role's and the "
                                  "playbook's files/ folders and the path itself): %s" % (name, where["src"], to_text(exc)))
                return result
            found = True
        if not found or self._connection.transport == "local":
            result.update(self._execute_module(module_name=module_name, module_args=module_args, task_vars=task_vars))
            return result
        result.update(self._execute_on_controller(module_name, module_args, task_vars))
        return result

    def _execute_on_controller(self, module_name, module_args, task_vars):
        """Run the module through a local connection with the controller's Python, then restore the task's connection."""
        play_context = self._play_context.copy()
        play_context.become = False
        local = connection_loader.get("local", play_context, "/dev/null")
        local.set_options(var_options={})
        local._shell.set_options(var_options={})  # pylint: disable=protected-access
        local_vars = dict(task_vars)
        local_vars["ansible_python_interpreter"] = task_vars.get("ansible_playbook_python") or sys.executable
        remote = self._connection, self._play_context
        self._connection, self._play_context = local, play_context
        try:
            return self._execute_module(module_name=module_name, module_args=module_args, task_vars=local_vars)
        finally:
            self._connection, self._play_context = remote
            local.close()

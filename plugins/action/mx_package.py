# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of mx_package: finds ``src`` on the controller as the copy module does, then runs the module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        module_args = self._task.args.copy()
        src = module_args.get("src")
        if src:
            try:
                module_args["src"] = self._find_needle("files", src)
            except AnsibleError as exc:
                result.update(failed=True, changed=False,
                              msg="Invalid input: src %s was not found on the controller (searched the role's and the "
                                  "playbook's files/ folders and the path itself): %s" % (src, to_text(exc)))
                return result
        result.update(self._execute_module(module_name=self._task.resolved_action or "mendix.private_cloud.mx_package",
                                           module_args=module_args, task_vars=task_vars))
        return result

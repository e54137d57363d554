# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of mx_package_download: the module with the mendix action group's module_defaults for the options a task omits."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mendix.private_cloud.plugins.plugin_utils._action import MendixAction


class ActionModule(MendixAction):
    PENDING = dict(size=None, package=None, elapsed=0, resumed=0)
    PENDING_DOES = "downloads"

    def pending(self, args):
        result = super(ActionModule, self).pending(args)
        if result is not None:
            result["dest"] = args.get("dest")
        return result

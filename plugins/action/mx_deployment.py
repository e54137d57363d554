# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of mx_deployment: the module with the mendix action group's module_defaults for the options a task omits."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mendix.private_cloud.plugins.plugin_utils._action import MendixAction


class ActionModule(MendixAction):
    PENDING = dict(package_id=None, previous_package_id=None, environment=None, jobs=[], rolled_back=False)
    PENDING_DOES = "deploys"

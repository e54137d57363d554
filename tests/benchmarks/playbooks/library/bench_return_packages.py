# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark floor: a module that returns packages read from a local JSON file, with no HTTP at all.

Its task time is what Ansible itself costs for a module that takes a no_log token and returns that many packages:
starting the module, scrubbing the no_log value from the result, and handing the result to the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type="path", required=True), token=dict(type="str", no_log=True)),
        supports_check_mode=True,
    )
    with open(module.params["path"], encoding="utf-8") as handle:
        packages = json.load(handle)
    module.exit_json(changed=False, packages=packages)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_cli_info
short_description: List the versions of mxpc-cli, the Mendix for Private Cloud configuration tool
version_added: 0.3.0
description:
  - Reads C(GET /cli) of the Deploy API - each version of mxpc-cli (the tool that installs and configures the Mendix
    Operator in a namespace), the Operator version it installs, and the operating systems and architectures it is
    built for. Read-only.
  - M(mendix.private_cloud.mx_cli_download) fetches one.
author:
  - mendix.private_cloud maintainers (@mendix-private-cloud)
extends_documentation_fragment:
  - mendix.private_cloud.attributes
  - mendix.private_cloud.connection
attributes:
  check_mode:
    support: full
    details: The module reads only.
  diff_mode:
    support: none
options:
  version:
    description:
      - Only this version (x.y.z).
    type: str
notes:
  - Needs a token with the scope C(mx:deployment:read) or C(mx:deployment:write).
seealso:
  - module: mendix.private_cloud.mx_cli_download
"""

EXAMPLES = r"""
- name: The versions of mxpc-cli
  mendix.private_cloud.mx_cli_info:
  register: cli

- name: Show the newest
  ansible.builtin.debug:
    msg: "{{ cli.versions[0].cli_version }} installs Operator {{ cli.versions[0].operator_version }}"
"""

RETURN = r"""
versions:
  description: The versions, as the API lists them (newest first), with the systems and architectures as lists.
  returned: always
  type: list
  elements: dict
  contains:
    cli_version:
      description: The version of mxpc-cli.
      type: str
    operator_version:
      description: The Operator version it installs.
      type: str
    operating_systems:
      description: The operating systems it is built for (C(windows), C(linux), C(macos)).
      type: list
      elements: str
    architectures:
      description: The architectures it is built for (C(x86), C(arm)).
      type: list
      elements: str
"""

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_version
from ansible_collections.mendix.private_cloud.plugins.module_utils._platform import cli_versions


def main():
    module = MendixModule(argument_spec=dict(version=dict(type="str")), supports_check_mode=True)
    p = module.params
    module.fail_on(check_version("version", p["version"]) if p["version"] is not None else [], changed=False)
    module.check_connection_input()
    try:
        versions = cli_versions(module.client)
    except MendixApiError as exc:
        module.fail_api(exc, changed=False)
    module.exit_json(changed=False, versions=[v for v in versions if p["version"] in (None, v["cli_version"])])


if __name__ == "__main__":
    main()

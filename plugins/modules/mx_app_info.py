#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_app_info
short_description: List the Mendix apps the token's user can reach through the Deploy API, or get one
version_added: 0.3.0
description:
  - Reads app manifests through the Deploy API (C(/apps)), with snake_case keys. Read-only.
  - With O(app_id), reads that app (one C(GET)); otherwise lists every app (every page), and keeps those named O(name)
    when given.
  - An app that does not exist gives an empty list, not an error.
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
  app_id:
    description:
      - Only the app with this ID (a UUID).
    type: str
  name:
    description:
      - Only apps with this name.
    type: str
notes:
  - Needs a token with the scope C(mx:deployment:read) or C(mx:deployment:write).
seealso:
  - module: mendix.private_cloud.mx_environment_info
"""

EXAMPLES = r"""
- name: Find the app's ID by its name
  mendix.private_cloud.mx_app_info:
    name: demo-git-app
  register: found
"""

RETURN = r"""
apps:
  description: The apps found, each the C(app) of its manifest with snake_case keys.
  returned: always
  type: list
  elements: dict
  contains:
    app_id:
      description: The app's ID.
      type: str
    app_name:
      description: Its name.
      type: str
"""

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError, quote
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_uuid
from ansible_collections.mendix.private_cloud.plugins.module_utils._platform import shown


def main():
    module = MendixModule(argument_spec=dict(app_id=dict(type="str"), name=dict(type="str")), supports_check_mode=True)
    p = module.params
    module.fail_on(check_uuid("app_id", p["app_id"]) if p["app_id"] is not None else [], changed=False)
    module.check_connection_input()
    client = module.client
    try:
        if p["app_id"]:
            one = client.get_manifest("/apps/%s" % quote(p["app_id"].lower()), missing_ok=True)
            manifests = [one] if one else []
        else:
            manifests = client.list_all("/apps", "apps", page_size=100, key=lambda a: a.get("appId"), item="app")
    except MendixApiError as exc:
        module.fail_api(exc, changed=False)
    found = [shown(m["app"]) for m in manifests if isinstance(m, dict) and isinstance(m.get("app"), dict)
             and (p["name"] is None or m["app"].get("appName") == p["name"])]
    module.exit_json(changed=False, apps=found)


if __name__ == "__main__":
    main()

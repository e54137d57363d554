#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_environment_info
short_description: List the environments of a Mendix for Private Cloud app, or get one
version_added: 0.2.0
description:
  - Reads environment manifests through the Deploy API, with snake_case keys. Read-only.
  - Write-only material (runtime secrets, client certificates' keys and passwords) never appears in the result.
  - With O(environment_id) and O(namespace_id), reads that environment (one C(GET)); otherwise lists all the app's
    environments (every page of C(GET /apps/{appId}/environments)) and keeps those that match O(environment_id),
    O(name) and O(namespace_id), when given.
  - An environment that does not exist gives an empty list, not an error.
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
      - The App ID (a UUID) shown in the Mendix Portal.
    type: str
    required: true
  namespace_id:
    description:
      - Only environments of this namespace.
    type: str
  environment_id:
    description:
      - Only the environment with this ID.
    type: str
  name:
    description:
      - Only environments with this display name (C(properties.name)).
    type: str
notes:
  - Needs a token with the scope C(mx:deployment:read) or C(mx:deployment:write).
  - The Deploy API 4.13 does not return runtime secrets; neither does this module.
seealso:
  - module: mendix.private_cloud.mx_environment
"""

EXAMPLES = r"""
- name: All environments of the app
  mendix.private_cloud.mx_environment_info:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
  register: envs

- name: Show what each one runs
  ansible.builtin.debug:
    msg: "{{ item.id }}: {{ item.deployment.package_id }} ({{ item.container.state }})"
  loop: "{{ envs.environments }}"
  loop_control:
    label: "{{ item.id }}"

- name: One environment by its ID
  mendix.private_cloud.mx_environment_info:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    namespace_id: d43aee0b-f7db-4e62-868b-1192d392cfed
    environment_id: gitdemo
  register: one
"""

RETURN = r"""
environments:
  description: The environments found, each the C(environment) of its manifest with snake_case keys.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Environment ID.
      type: str
      returned: always
    properties:
      description: Name, production flag, purpose.
      type: dict
      returned: always
    deployment:
      description: App URL, package ID, constants, scheduled events, log levels.
      type: dict
      returned: always
    container:
      description: Instances, state (C(Ready), C(Processing), C(Failed), C(Unknown)), last running instance count,
        resources.
      type: dict
      returned: always
    runtime:
      description: Runtime version, environment variables, custom runtime settings (no secrets).
      type: dict
      returned: when the API gives it
    provider:
      description: Cluster ID, namespace name and namespace ID.
      type: dict
      returned: always
"""

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError, is_app_missing
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_length, check_uuid, snake
from ansible_collections.mendix.private_cloud.plugins.module_utils._output import public


def main():
    module = MendixModule(
        argument_spec=dict(
            app_id=dict(type="str", required=True),
            namespace_id=dict(type="str"),
            environment_id=dict(type="str"),
            name=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    errors = check_uuid("app_id", p["app_id"])
    if p["namespace_id"] is not None:
        errors += check_length("namespace_id", p["namespace_id"], 1, 64)
    if p["environment_id"] is not None:
        errors += check_length("environment_id", p["environment_id"], 1, 32, " (the environment's ID, not its name)")
    module.fail_on(errors, changed=False)
    module.check_connection_input()
    client = module.client
    app_id = p["app_id"].lower()
    try:
        if p["environment_id"] and p["namespace_id"]:
            try:
                manifests = [client.get_environment(app_id, p["namespace_id"], p["environment_id"])]
            except MendixApiError as exc:
                if exc.status != 404 or is_app_missing(exc):
                    raise
                manifests = []
        else:
            manifests = client.list_environments(app_id)
    except MendixApiError as exc:
        module.fail_api(exc, changed=False)
    found = []
    for manifest in manifests:
        env = (manifest or {}).get("environment") if isinstance(manifest, dict) else None
        if not isinstance(env, dict):
            continue
        provider = env.get("provider") or {}
        if p["environment_id"] and env.get("id") != p["environment_id"]:
            continue
        if p["namespace_id"] and provider.get("namespaceId") not in (None, p["namespace_id"]):
            continue
        if p["name"] is not None and (env.get("properties") or {}).get("name") != p["name"]:
            continue
        found.append(public(snake(env)))
    module.exit_json(changed=False, environments=found)


if __name__ == "__main__":
    main()

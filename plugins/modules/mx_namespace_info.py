#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_namespace_info
short_description: List the namespaces of a Mendix for Private Cloud cluster, or get one
version_added: 0.3.0
description:
  - Reads namespace manifests through the Deploy API, with snake_case keys. Read-only.
  - With O(namespace_id), reads that namespace (one C(GET)); otherwise lists every namespace of the cluster (every
    page), and keeps those named O(name) when given.
  - A namespace's secret never appears in the result.
  - A namespace that does not exist gives an empty list, not an error; a cluster that does not exist is an error.
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
  cluster_id:
    description:
      - The cluster's ID (a UUID).
    type: str
    required: true
  namespace_id:
    description:
      - Only the namespace with this ID.
    type: str
  name:
    description:
      - Only namespaces with this name.
    type: str
  environments:
    description:
      - Whether to include the environments deployed in each namespace (the API's C(retrieveEnvironments)).
    type: bool
    default: false
notes:
  - Needs a token with the scope C(mx:deployment:read) or C(mx:deployment:write).
seealso:
  - module: mendix.private_cloud.mx_namespace
  - module: mendix.private_cloud.mx_cluster_info
"""

EXAMPLES = r"""
- name: The cluster's namespaces with their environments
  mendix.private_cloud.mx_namespace_info:
    cluster_id: a712d8f4-a77c-4189-a211-e0ea1dfde03c
    environments: true
  register: namespaces
"""

RETURN = r"""
namespaces:
  description: The namespaces found, each the C(namespace) of its manifest with snake_case keys, without its secret.
  returned: always
  type: list
  elements: dict
  contains:
    namespace_id:
      description: The namespace's ID.
      type: str
    name:
      description: Its name.
      type: str
    plans:
      description: Its plans.
      type: list
      elements: dict
    membership:
      description: Its members.
      type: list
      elements: dict
    environments:
      description: The environments in it, each with C(environment_id), C(environment_name), C(application_id) and
        C(application_name).
      type: list
      elements: dict
      returned: with O(environments=true)
"""

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_uuid
from ansible_collections.mendix.private_cloud.plugins.module_utils._platform import cluster_path, namespace_path, shown


def main():
    module = MendixModule(
        argument_spec=dict(cluster_id=dict(type="str", required=True), namespace_id=dict(type="str"), name=dict(type="str"),
                           environments=dict(type="bool", default=False)),
        supports_check_mode=True,
    )
    p = module.params
    errors = check_uuid("cluster_id", p["cluster_id"])
    if p["namespace_id"] is not None:
        errors += check_uuid("namespace_id", p["namespace_id"])
    module.fail_on(errors, changed=False)
    module.check_connection_input()
    client = module.client
    cluster_id = p["cluster_id"].lower()
    params = {"retrieveEnvironments": "true"} if p["environments"] else None
    try:
        if p["namespace_id"]:
            one = client.get_manifest(namespace_path(cluster_id, p["namespace_id"].lower()), missing_ok=True, params=params)
            if one is None and client.get_manifest(cluster_path(cluster_id), missing_ok=True) is None:
                module.fail_json(msg="cluster_id=%s is not found or not visible to this token." % cluster_id, changed=False)
            manifests = [one] if one else []
        else:
            manifests = client.list_all(namespace_path(cluster_id), "namespaces", key=lambda n: n.get("namespaceId"),
                                        item="namespace", params=params)
    except MendixApiError as exc:
        module.fail_api(exc, changed=False)
    found = [shown(m["namespace"]) for m in manifests if isinstance(m, dict) and isinstance(m.get("namespace"), dict)
             and (p["name"] is None or m["namespace"].get("name") == p["name"])]
    module.exit_json(changed=False, namespaces=found)


if __name__ == "__main__":
    main()

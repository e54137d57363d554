#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_cluster_info
short_description: List the Mendix for Private Cloud clusters the token's user manages, or get one
version_added: 0.3.0
description:
  - Reads cluster manifests through the Deploy API, with snake_case keys. Read-only.
  - With O(cluster_id), reads that cluster (one C(GET)); otherwise lists every cluster the user is a Cluster Manager of
    (every page of C(GET /clusters)), and keeps those named O(name) when given.
  - A cluster that does not exist gives an empty list, not an error.
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
      - Only the cluster with this ID (a UUID).
    type: str
  name:
    description:
      - Only clusters with this name.
    type: str
notes:
  - Needs a token with the scope C(mx:deployment:read) or C(mx:deployment:write).
seealso:
  - module: mendix.private_cloud.mx_cluster
  - module: mendix.private_cloud.mx_namespace_info
"""

EXAMPLES = r"""
- name: Every cluster
  mendix.private_cloud.mx_cluster_info:
  register: clusters

- name: The cluster named demo-cluster
  mendix.private_cloud.mx_cluster_info:
    name: demo-cluster
  register: demo
"""

RETURN = r"""
clusters:
  description: The clusters found, each the C(cluster) of its manifest with snake_case keys.
  returned: always
  type: list
  elements: dict
  contains:
    cluster_id:
      description: The cluster's ID.
      type: str
    name:
      description: Its name.
      type: str
    cluster_type:
      description: Its type (C(os), C(k8s), C(eks), C(aks), C(stackit)).
      type: str
    operator_type:
      description: C(global_operator) or C(standard_operator).
      type: str
    cluster_managers:
      description: Its managers, each with C(email), C(status) and C(display_name).
      type: list
      elements: dict
"""

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_uuid
from ansible_collections.mendix.private_cloud.plugins.module_utils._platform import cluster_path, shown


def main():
    module = MendixModule(
        argument_spec=dict(cluster_id=dict(type="str"), name=dict(type="str")),
        supports_check_mode=True,
    )
    p = module.params
    module.fail_on(check_uuid("cluster_id", p["cluster_id"]) if p["cluster_id"] is not None else [], changed=False)
    module.check_connection_input()
    client = module.client
    try:
        if p["cluster_id"]:
            one = client.get_manifest(cluster_path(p["cluster_id"].lower()), missing_ok=True)
            manifests = [one] if one else []
        else:
            manifests = client.list_all(cluster_path(), "clusters", key=lambda c: c.get("clusterId"), item="cluster")
    except MendixApiError as exc:
        module.fail_api(exc, changed=False)
    found = [shown(m["cluster"]) for m in manifests if isinstance(m, dict) and isinstance(m.get("cluster"), dict)
             and (p["name"] is None or m["cluster"].get("name") == p["name"])]
    module.exit_json(changed=False, clusters=found)


if __name__ == "__main__":
    main()

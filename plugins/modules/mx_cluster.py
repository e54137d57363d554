#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_cluster
short_description: Register, update and remove a Mendix for Private Cloud cluster
version_added: 0.3.0
description:
  - Manages one cluster's registration with Mendix through the Deploy API (C(/clusters)), declaratively.
  - O(state=present) creates the cluster when it does not exist (C(POST /clusters), the job waited), then sets its
    managers when O(cluster_managers) is given; an existing cluster gets the name, type, description and managers
    given in one C(PUT). After the change, the cluster is read back and every field set is checked.
  - The cluster ID is the caller's to choose (a UUID), as the API expects; a re-run with the same ID finds the cluster.
  - O(operator_type) is set once, when the cluster is created; the API cannot change it. A task that asks another
    one for an existing cluster fails before any write.
  - Managers are compared by e-mail address (case-insensitive). Their invitation status and display name are the API's
    and never compared; RV(cluster) returns them. O(auto_accept_invite) applies to new invitations only, as the API
    reads it.
  - O(state=absent) deletes the cluster (the job waited); a cluster that does not exist is no change.
  - An unchanged task costs one C(GET). Check mode sends no write; diff mode shows the fields that change.
author:
  - mendix.private_cloud maintainers (@mendix-private-cloud)
extends_documentation_fragment:
  - mendix.private_cloud.attributes
  - mendix.private_cloud.connection
  - mendix.private_cloud.wait
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  cluster_id:
    description:
      - The cluster's ID, a UUID the caller chooses when creating it.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the cluster; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - The cluster's name. Required with O(state=present).
    type: str
  cluster_type:
    description:
      - The kind of Kubernetes cluster. Required with O(state=present).
    type: str
    choices: [os, k8s, eks, aks, stackit]
  description:
    description:
      - A description of the cluster. Left as it is when not given.
    type: str
  operator_type:
    description:
      - How the Mendix Operator is installed, set once when the cluster is created (the API's default is
        V(standard_operator)). It cannot change; asking another value for an existing cluster fails before any write.
    type: str
    choices: [global_operator, standard_operator]
  cluster_managers:
    description:
      - The e-mail addresses of the cluster's managers, all of them; those not listed are removed. Left as they are when
        not given.
    type: list
    elements: str
  auto_accept_invite:
    description:
      - Whether the invitations of managers added by this task are accepted at once.
    type: bool
    default: false
notes:
  - Needs a token with the scope C(mx:deployment:write) (C(mx:deployment:read) for check mode).
  - The Deploy API is for connected clusters only.
seealso:
  - module: mendix.private_cloud.mx_namespace
  - module: mendix.private_cloud.mx_cluster_info
"""

EXAMPLES = r"""
- name: Register the cluster
  mendix.private_cloud.mx_cluster:
    cluster_id: 3c1f0b9e-6a52-4d8e-9f47-2b8c5d1e7a90
    name: edge-cluster
    cluster_type: eks
    description: The EKS cluster of the edge apps
    operator_type: standard_operator
    cluster_managers:
      - platform-team@example.com
  register: cluster

- name: Remove a cluster that is no longer used (no change when it is gone already)
  mendix.private_cloud.mx_cluster:
    cluster_id: 9e4d2a7b-1c3f-4b5e-8d6a-0f2e4c6b8a13
    state: absent
"""

RETURN = r"""
cluster:
  description: The cluster as the API shows it after the task, snake_case (in check mode, as it is now); absent after
    O(state=absent), and when the task did not wait.
  returned: when the cluster exists
  type: dict
  contains:
    cluster_id:
      description: The cluster's ID.
      type: str
    name:
      description: Its name.
      type: str
    cluster_type:
      description: Its type.
      type: str
    operator_type:
      description: How its operator is installed.
      type: str
    cluster_managers:
      description: Managers with their C(email), C(status) (C(Invitation_Sent) or C(Accepted)) and C(display_name).
      type: list
      elements: dict
    total_namespaces:
      description: Its namespaces.
      type: int
    total_environments:
      description: The environments in its namespaces.
      type: int
changes:
  description: The names of the fields the task changed (or would change, in check mode); C(created) or C(deleted)
    for those.
  returned: always
  type: list
  elements: str
jobs:
  description: The Deploy API jobs of the task, in order, each with its C(id), C(status) and C(location).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_length, check_uuid
from ansible_collections.mendix.private_cloud.plugins.module_utils._platform import (
    PlatformService, cluster_path, report_failure, shown,
)

TYPES = ["os", "k8s", "eks", "aks", "stackit"]
OPERATORS = ["global_operator", "standard_operator"]


def emails(people):
    return sorted(str(p.get("email", "")).lower() for p in people or [] if isinstance(p, dict))


def differences(current, p):
    """The fields of the cluster that differ from the task's."""
    found = [field for field, key in (("name", "name"), ("cluster_type", "clusterType"), ("description", "description"))
             if p[field] is not None and current.get(key) != p[field]]
    if p["cluster_managers"] is not None and emails(current.get("clusterManagers")) != sorted(e.lower() for e in p["cluster_managers"]):
        found.append("cluster_managers")
    return found


def comparable(part):
    return {"name": part.get("name"), "cluster_type": part.get("clusterType"), "description": part.get("description"),
            "operator_type": part.get("operatorType"), "cluster_managers": emails(part.get("clusterManagers"))}


def wanted(current, p):
    """The update manifest: the current cluster with the task's fields (managers already invited keep their entry)."""
    part = {"clusterId": current.get("clusterId") or p["cluster_id"], "name": p["name"] or current.get("name"),
            "clusterType": p["cluster_type"] or current.get("clusterType")}
    description = p["description"] if p["description"] is not None else current.get("description")
    if description is not None:
        part["description"] = description
    known = dict((str(m.get("email", "")).lower(), m) for m in current.get("clusterManagers") or [] if isinstance(m, dict))
    if p["cluster_managers"] is None:
        part["clusterManagers"] = [{"email": m["email"]} for m in current.get("clusterManagers") or [] if m.get("email")]
    else:
        part["clusterManagers"] = [{"email": known[e.lower()]["email"]} if e.lower() in known
                                   else {"email": e, "autoAcceptInvite": p["auto_accept_invite"]} for e in p["cluster_managers"]]
    return part


def main():
    module = MendixModule(
        argument_spec=dict(
            cluster_id=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            name=dict(type="str"),
            cluster_type=dict(type="str", choices=TYPES),
            description=dict(type="str"),
            operator_type=dict(type="str", choices=OPERATORS),
            cluster_managers=dict(type="list", elements="str"),
            auto_accept_invite=dict(type="bool", default=False),
        ),
        wait=True,
        supports_check_mode=True,
        required_if=[("state", "present", ("name", "cluster_type"))],
    )
    p = module.params
    errors = check_uuid("cluster_id", p["cluster_id"]) + module.wait_errors()
    if p["name"] is not None:
        errors += check_length("name", p["name"], 1, 200)
    for email in p["cluster_managers"] or []:
        if "@" not in email:
            errors.append("cluster_managers: %r is not an e-mail address" % email)
    if p["cluster_managers"] is not None and len(set(e.lower() for e in p["cluster_managers"])) != len(p["cluster_managers"]):
        errors.append("cluster_managers lists an address twice")
    module.fail_on(errors, changed=False, changes=[], jobs=[])
    module.check_connection_input()
    cluster_id = p["cluster_id"].lower()
    service = PlatformService(module, "cluster", cluster_path(cluster_id), "cluster_id=%s" % cluster_id)
    changes = []
    result = dict(changes=changes, jobs=service.jobs)
    try:
        current = service.read()
        if p["state"] == "absent":
            if current is None:
                module.exit_json(changed=False, **result)
            changes.append("deleted")
            diff = dict(before=comparable(current), after={})
            if not module.check_mode:
                service.write("DELETE", cluster_path(cluster_id), None, "deleting the cluster")
                service.gone()
            module.exit_json(changed=True, diff=diff, **result)
        if current is None:
            changes.append("created")
            part = {"clusterId": cluster_id, "name": p["name"], "clusterType": p["cluster_type"]}
            for option, key in (("description", "description"), ("operator_type", "operatorType")):
                if p[option] is not None:
                    part[key] = p[option]
            after = dict(comparable(part), operator_type=p["operator_type"] or "standard_operator",
                         cluster_managers=sorted(e.lower() for e in p["cluster_managers"] or []))
            diff = dict(before={}, after=after)
            if module.check_mode:
                module.exit_json(changed=True, diff=diff, **result)
            service.write("POST", cluster_path(), part, "creating the cluster")
            if p["cluster_managers"] is not None and p["wait"]:
                created = service.read() or part
                if differences(created, p):
                    service.write("PUT", cluster_path(cluster_id), wanted(created, p), "setting the cluster's managers")
        else:
            if p["operator_type"] is not None and current.get("operatorType") not in (None, p["operator_type"]):
                module.fail_json(msg="operator_type cannot change once the cluster exists: cluster_id=%s has %s, the task "
                                     "asks %s. Leave operator_type out, or register a new cluster."
                                     % (cluster_id, current.get("operatorType"), p["operator_type"]), **result)
            changes.extend(differences(current, p))
            if not changes:
                module.exit_json(changed=False, cluster=shown(current), **result)
            part = wanted(current, p)
            diff = dict(before=comparable(current), after=dict(comparable(current), **dict(
                (k, v) for k, v in comparable(part).items() if k in changes)))
            if module.check_mode:
                module.exit_json(changed=True, diff=diff, cluster=shown(current), **result)
            service.write("PUT", cluster_path(cluster_id), part, "updating the cluster")
        after = service.verify(lambda got: differences(got, p))
        if after is not None:
            result["cluster"] = shown(after)
        module.exit_json(changed=True, diff=diff, **result)
    except Exception as exc:  # pylint: disable=broad-except
        report_failure(module, exc, changed=bool(service.jobs), **result)


if __name__ == "__main__":
    main()

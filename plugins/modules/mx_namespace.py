#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_namespace
short_description: Register, configure and remove a namespace of a Mendix for Private Cloud cluster
version_added: 0.3.0
description:
  - Manages one namespace of a registered cluster through the Deploy API (C(/clusters/{clusterId}/namespaces)),
    declaratively - its name, development mode, external secrets store, plans, members and operational links.
  - O(state=present) creates the namespace when it does not exist (C(POST), the job waited; O(secret) is then required),
    then sets the other fields given in one C(PUT). An existing namespace gets every change of the task in one C(PUT).
    After the change, the namespace is read back and every field set is checked.
  - Only what the task gives is compared. Plans are activated or deactivated by name; their type and configuration are
    the API's and never compared. Members are compared by e-mail address and role; their invitation status, display
    name and permissions are the API's. Members the task does not list stay, unless O(members_exclusive=true).
  - O(installation_type) and O(namespace_type) are set once, when the namespace is created; asking another value for an
    existing namespace fails before any write.
  - O(secret) is write-only. It is sent when the namespace is created, and on later runs only with
    O(update_secret=always) (a task that always sends it always reports a change, since the API never shows the
    secret and it cannot be compared). It never appears in the result, the diff or a message. The API's update requires a secret;
    without one to send, the task sends back the value the API's C(GET) gave.
  - The Deploy API cannot update the C(Main) namespace of a Global Operator installation; a change to one fails before
    any write with that reason.
  - O(state=absent) deletes the namespace. A namespace that still has environments is refused, naming them, unless
    O(force=true), which deletes every environment in it first (each job waited).
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
      - The ID (a UUID) of the cluster the namespace belongs to.
    type: str
    required: true
  namespace_id:
    description:
      - The namespace's ID, a UUID the caller chooses when creating it.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the namespace; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - The namespace's name (the Kubernetes namespace). Required with O(state=present).
    type: str
  installation_type:
    description:
      - Connected or standalone, set once when the namespace is created (V(Connected) when not given, since the
        Deploy API is for connected clusters).
    type: str
    choices: [Connected, Standalone]
  namespace_type:
    description:
      - The namespace's type, set once when it is created (the API's default is V(standard)); it follows from the
        cluster's operator type.
    type: str
    choices: [standard, main, managed]
  secret:
    description:
      - The namespace's secret, which the Operator's installer (C(mxpc-cli installer -s)) uses. Required to create the
        namespace; sent again only with O(update_secret=always).
    type: str
  update_secret:
    description:
      - V(on_create) sends O(secret) only when the namespace is created; V(always) sends it on every run (and the task
        always reports a change).
    type: str
    choices: [on_create, always]
    default: on_create
  development_mode:
    description:
      - Whether development mode is enabled in the namespace.
    type: bool
  external_secrets_store:
    description:
      - Whether the namespace uses an external secrets store.
    type: bool
  plans:
    description:
      - Plans to activate or deactivate, by name. Plans not listed are left as they are. A name the namespace does not
        have fails before any write, listing those it has.
    type: list
    elements: dict
    suboptions:
      name:
        description: The plan's name.
        type: str
        required: true
      activate:
        description: Whether the plan is active.
        type: bool
        required: true
  members:
    description:
      - The namespace's members, by e-mail address, each with a role (V(Developer), V(Administrator), or the name of a
        custom role of the cluster).
    type: list
    elements: dict
    suboptions:
      email:
        description: The member's e-mail address.
        type: str
        required: true
      role:
        description: The member's role.
        type: str
        default: Developer
  members_exclusive:
    description:
      - Whether members the task does not list are removed.
    type: bool
    default: false
  auto_accept_invite:
    description:
      - Whether the invitations of members added by this task are accepted at once.
    type: bool
    default: false
  operational_links:
    description:
      - Links shown in the Portal for the namespace's environments. Links not given are left as they are.
    type: dict
    suboptions:
      metrics:
        description: The metrics URL.
        type: str
      alerts:
        description: The alerts URL.
        type: str
      logs:
        description: The logs URL.
        type: str
      backups:
        description: The backups URL.
        type: str
  force:
    description:
      - With O(state=absent), delete every environment in the namespace first, then the namespace.
    type: bool
    default: false
notes:
  - Needs a token with the scope C(mx:deployment:write) (C(mx:deployment:read) for check mode).
seealso:
  - module: mendix.private_cloud.mx_cluster
  - module: mendix.private_cloud.mx_namespace_info
  - module: mendix.private_cloud.mx_environment
"""

EXAMPLES = r"""
- name: Register the namespace
  mendix.private_cloud.mx_namespace:
    cluster_id: a712d8f4-a77c-4189-a211-e0ea1dfde03c
    namespace_id: 5b0e7c1a-93f4-4d2e-8a6b-1f9c3e7d2a54
    name: edge-apps
    secret: "{{ vault_namespace_secret }}"
    development_mode: true
    plans:
      - name: ephemeral
        activate: true
    members:
      - email: dev@example.com
        role: Developer
    operational_links:
      logs: https://logs.example.com
  register: namespace
"""

RETURN = r"""
namespace:
  description: The namespace as the API shows it after the task, snake_case, without its secret (in check mode, as it
    is now); absent after O(state=absent), and when the task did not wait.
  returned: when the namespace exists
  type: dict
  contains:
    namespace_id:
      description: The namespace's ID.
      type: str
    name:
      description: Its name.
      type: str
    installation_type:
      description: C(Connected) or C(Standalone).
      type: str
    namespace_type:
      description: C(standard), C(main) or C(managed).
      type: str
    plans:
      description: Its plans, each with C(plan_name), C(plan_type), C(activate) and C(plan_config).
      type: list
      elements: dict
    membership:
      description: Its members, each with C(email), C(role), C(status), C(display_name) and C(permissions).
      type: list
      elements: dict
changes:
  description: The names of the fields the task changed (or would change, in check mode); C(created) or C(deleted)
    for those, C(secret) when the secret was sent.
  returned: always
  type: list
  elements: str
deleted_environments:
  description: The environments deleted before the namespace with O(force=true), as C(app_id/environment_id).
  returned: with O(state=absent)
  type: list
  elements: str
jobs:
  description: The Deploy API jobs of the task, in order.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import SCOPES_DEPLOY_READ
from ansible_collections.mendix.private_cloud.plugins.module_utils._jobs import JobFailed, JobTimeout
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_length, check_uuid
from ansible_collections.mendix.private_cloud.plugins.module_utils._platform import (
    PlatformFailed, PlatformService, cluster_path, namespace_path, report_failure, shown,
)

LINKS = (("metrics", "metricsUrl"), ("alerts", "alertsUrl"), ("logs", "logsUrl"), ("backups", "backupsUrl"))
FLAGS = (("development_mode", "enableDevelopmentMode"), ("external_secrets_store", "enableExternalSecretsStore"))


def members_of(part):
    return dict((str(m.get("email", "")).lower(), m) for m in part.get("membership") or [] if isinstance(m, dict))


def differences(current, p):
    """The fields of the namespace that differ from the task's (the secret aside)."""
    found = []
    if p["name"] is not None and current.get("name") != p["name"]:
        found.append("name")
    found += [option for option, key in FLAGS if p[option] is not None and bool(current.get(key)) != p[option]]
    plans = dict((plan.get("planName"), bool(plan.get("activate"))) for plan in current.get("plans") or [] if isinstance(plan, dict))
    if any(plans.get(plan["name"]) != plan["activate"] for plan in p["plans"] or []):
        found.append("plans")
    if p["members"] is not None:
        have = members_of(current)
        if any(m["email"].lower() not in have or have[m["email"].lower()].get("role") != m["role"] for m in p["members"]) \
                or (p["members_exclusive"] and set(have) != set(m["email"].lower() for m in p["members"])):
            found.append("members")
    links = current.get("operationalLinks") or {}
    if any((p["operational_links"] or {}).get(option) not in (None, links.get(key)) for option, key in LINKS):
        found.append("operational_links")
    return found


def comparable(part):
    """What the diff shows of a namespace: the managed fields, never the secret."""
    return {"name": part.get("name"), "development_mode": bool(part.get("enableDevelopmentMode")),
            "external_secrets_store": bool(part.get("enableExternalSecretsStore")),
            "plans": dict((plan.get("planName"), bool(plan.get("activate"))) for plan in part.get("plans") or []),
            "members": dict((str(m.get("email", "")).lower(), m.get("role")) for m in part.get("membership") or []),
            "operational_links": dict((option, (part.get("operationalLinks") or {}).get(key)) for option, key in LINKS
                                      if (part.get("operationalLinks") or {}).get(key) is not None)}


def wanted(current, p, secret):
    """The update manifest: the current namespace with the task's fields; non-editable parts left out or as read."""
    part = {"namespaceId": current.get("namespaceId") or p["namespace_id"].lower(), "name": p["name"] or current.get("name"),
            "installationType": current.get("installationType") or p["installation_type"] or "Connected",
            "secret": secret, "productTypePCLM": current.get("productTypePCLM") or "standard"}
    if current.get("namespaceType"):
        part["namespaceType"] = current["namespaceType"]
    for option, key in FLAGS:
        part[key] = p[option] if p[option] is not None else bool(current.get(key))
    activate = dict((plan["name"], plan["activate"]) for plan in p["plans"] or [])
    # each plan as read (its type and configuration are the API's), with the task's activate
    part["plans"] = [dict(plan, activate=activate.get(plan.get("planName"), bool(plan.get("activate"))))
                     for plan in current.get("plans") or [] if isinstance(plan, dict)]
    have = members_of(current)
    given = dict((m["email"].lower(), m) for m in p["members"] or [])
    members = [] if p["members_exclusive"] and p["members"] is not None else [
        {"email": m["email"], "role": m.get("role")} for key, m in have.items() if key not in given]
    for key, m in given.items():
        entry = {"email": have[key]["email"] if key in have else m["email"], "role": m["role"]}
        if key not in have:
            entry["autoAcceptInvite"] = p["auto_accept_invite"]
        members.append(entry)
    part["membership"] = members
    links = dict(current.get("operationalLinks") or {})
    for option, key in LINKS:
        if (p["operational_links"] or {}).get(option) is not None:
            links[key] = p["operational_links"][option]
    part["operationalLinks"] = links
    return part


def check_input(module):
    p = module.params
    errors = check_uuid("cluster_id", p["cluster_id"]) + check_uuid("namespace_id", p["namespace_id"]) + module.wait_errors()
    if p["name"] is not None:
        errors += check_length("name", p["name"], 1, 63, " (a Kubernetes namespace name)")
    if p["secret"] is not None and not p["secret"]:
        errors.append("secret must not be empty")
    if p["update_secret"] == "always" and not p["secret"]:
        errors.append("update_secret=always needs secret")
    emails = [m["email"].lower() for m in p["members"] or []]
    errors += ["members: %r is not an e-mail address" % e for e in emails if "@" not in e]
    if len(set(emails)) != len(emails):
        errors.append("members lists an address twice")
    names = [plan["name"] for plan in p["plans"] or []]
    if len(set(names)) != len(names):
        errors.append("plans lists a plan twice")
    for option, dummy in LINKS:
        url = (p["operational_links"] or {}).get(option)
        if url is not None and not url.startswith(("https://", "http://")):
            errors.append("operational_links.%s must be an http(s) URL, got %r" % (option, url))
    module.fail_on(errors, changed=False, changes=[], jobs=[])


def main():
    module = MendixModule(
        argument_spec=dict(
            cluster_id=dict(type="str", required=True),
            namespace_id=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            name=dict(type="str"),
            installation_type=dict(type="str", choices=["Connected", "Standalone"]),
            namespace_type=dict(type="str", choices=["standard", "main", "managed"]),
            secret=dict(type="str", no_log=True),
            update_secret=dict(type="str", default="on_create", choices=["on_create", "always"], no_log=False),
            development_mode=dict(type="bool"),
            external_secrets_store=dict(type="bool"),
            plans=dict(type="list", elements="dict", options=dict(name=dict(type="str", required=True),
                                                                  activate=dict(type="bool", required=True))),
            members=dict(type="list", elements="dict", options=dict(email=dict(type="str", required=True),
                                                                    role=dict(type="str", default="Developer"))),
            members_exclusive=dict(type="bool", default=False),
            auto_accept_invite=dict(type="bool", default=False),
            operational_links=dict(type="dict", options=dict(metrics=dict(type="str"), alerts=dict(type="str"),
                                                             logs=dict(type="str"), backups=dict(type="str"))),
            force=dict(type="bool", default=False),
        ),
        wait=True,
        supports_check_mode=True,
        required_if=[("state", "present", ("name",))],
    )
    check_input(module)
    module.check_connection_input()
    p = module.params
    cluster_id, namespace_id = p["cluster_id"].lower(), p["namespace_id"].lower()
    service = PlatformService(module, "namespace", namespace_path(cluster_id, namespace_id),
                              "namespace_id=%s of cluster_id=%s" % (namespace_id, cluster_id))
    changes = []
    result = dict(changes=changes, jobs=service.jobs)
    try:
        if p["state"] == "absent":
            absent(module, service, cluster_id, namespace_id, result)
        current = service.read()
        if current is None:
            create(module, service, cluster_id, result)
        else:
            update(module, service, cluster_id, current, result)
    except Exception as exc:  # pylint: disable=broad-except
        report_failure(module, exc, changed=bool(service.jobs), **result)


def create(module, service, cluster_id, result):
    p = module.params
    if module.client.get_manifest(cluster_path(cluster_id), missing_ok=True) is None:
        module.fail_json(msg="cluster_id=%s is not found or not visible to this token: register it first "
                             "(mendix.private_cloud.mx_cluster)." % cluster_id, **result)
    if not p["secret"]:
        module.fail_json(msg="secret is required to create the namespace namespace_id=%s (the Operator's installer "
                             "uses it)." % p["namespace_id"], **result)
    result["changes"].append("created")
    part = {"namespaceId": p["namespace_id"].lower(), "name": p["name"],
            "installationType": p["installation_type"] or "Connected", "secret": p["secret"]}
    if p["namespace_type"]:
        part["namespaceType"] = p["namespace_type"]
    diff = dict(before={}, after=dict(name=p["name"], installation_type=part["installationType"],
                                      namespace_type=p["namespace_type"] or "standard"))
    if module.check_mode:
        module.exit_json(changed=True, diff=diff, **result)
    service.write("POST", namespace_path(cluster_id), part, "creating the namespace")
    if p["wait"]:
        created = service.read()
        if created is not None and differences(created, p):
            check_plans(module, created, result)
            service.write("PUT", service.path, wanted(created, p, p["secret"]), "setting the namespace's fields")
    finish(module, service, diff, result)


def update(module, service, cluster_id, current, result):
    p = module.params
    for option, key in (("installation_type", "installationType"), ("namespace_type", "namespaceType")):
        if p[option] is not None and current.get(key) not in (None, p[option]):
            module.fail_json(msg="%s cannot change once the namespace exists: namespace_id=%s has %s, the task asks %s."
                                 % (option, p["namespace_id"], current.get(key), p[option]), **result)
    check_plans(module, current, result)
    changes = result["changes"]
    changes.extend(differences(current, p))
    if p["update_secret"] == "always":
        changes.append("secret")
    if not changes:
        module.exit_json(changed=False, namespace=shown(current), **result)
    if current.get("namespaceType") == "main":
        cluster = module.client.get_manifest(cluster_path(cluster_id), missing_ok=True) or {}
        if (cluster.get("cluster") or {}).get("operatorType") == "global_operator":
            module.fail_json(msg="namespace_id=%s is the Main namespace of a Global Operator installation, which the Deploy "
                                 "API cannot update (its documentation says so); change it in the Mendix Portal."
                                 % p["namespace_id"], **result)
    part = wanted(current, p, p["secret"] if p["update_secret"] == "always" else current.get("secret"))
    after = comparable(part)
    diff = dict(before=comparable(current), after=after)
    if module.check_mode:
        module.exit_json(changed=True, diff=diff, namespace=shown(current), **result)
    service.write("PUT", service.path, part, "updating the namespace")
    finish(module, service, diff, result)


def finish(module, service, diff, result):
    after = service.verify(lambda got: differences(got, module.params))
    if after is not None:
        result["namespace"] = shown(after)
    module.exit_json(changed=True, diff=diff, **result)


def check_plans(module, current, result):
    have = [plan.get("planName") for plan in current.get("plans") or [] if isinstance(plan, dict)]
    unknown = [plan["name"] for plan in module.params["plans"] or [] if plan["name"] not in have]
    if unknown:
        module.fail_json(msg="plans: namespace_id=%s has no plan named %s; it has %s."
                             % (module.params["namespace_id"], ", ".join(unknown), ", ".join(have) or "none"), **result)


def absent(module, service, cluster_id, namespace_id, result):
    p = module.params
    result["deleted_environments"] = deleted = []
    current = service.read(params={"retrieveEnvironments": "true"})
    if current is None:
        module.exit_json(changed=False, **result)
    environments = [(str(e.get("applicationId", "")).lower(), e.get("environmentId"))
                    for e in current.get("environments") or [] if isinstance(e, dict)]
    names = ["%s/%s" % env for env in environments]
    if environments and not p["force"]:
        module.fail_json(msg="namespace_id=%s still has environments (%s): delete them first "
                             "(mendix.private_cloud.mx_environment state=absent), or set force: true to delete them with "
                             "the namespace." % (namespace_id, ", ".join(names)), **result)
    result["changes"].append("deleted")
    diff = dict(before=comparable(current), after={})
    if module.check_mode:
        deleted.extend(names)
        module.exit_json(changed=True, diff=diff, **result)
    for (app_id, env_id), name in zip(environments, names):
        job = module.client.delete_environment(app_id, namespace_id, env_id)
        try:
            module.waiter(scopes=SCOPES_DEPLOY_READ).wait(job["id"])
        except (JobFailed, JobTimeout) as exc:
            raise PlatformFailed("deleting environment %s of namespace_id=%s failed: %s" % (name, namespace_id, exc.message))
        deleted.append(name)
    service.write("DELETE", service.path, None, "deleting the namespace")
    service.gone()
    module.exit_json(changed=True, diff=diff, **result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_environment
short_description: Create, configure, start, stop, restart and remove a Mendix for Private Cloud environment
version_added: 0.2.0
description:
  - Manages one environment of an app through the Deploy API - its manifest - declaratively, like
    C(kubernetes.core.k8s) manages a resource.
  - O(state=present) creates the environment when it does not exist (C(POST /apps/{appId}/environments), then waits for
    the job and reads it back), or brings the settings given into its manifest. Each setting is optional and
    B(merged) into the current manifest; what is not given is left as it is. Lists of named items (constants,
    scheduled events, environment variables, ...) are compared and merged by name, not by position.
  - All the settings of a task go out in B(one) C(PUT) of the whole manifest. Before it, the manifest is read once
    more; a change someone else made since the first read is kept (and named in a warning) rather than overwritten,
    unless it touched a field this task sets. After the job, the manifest is read back and every field set is
    checked.
  - O(state=stopped) sets the instances to 0; O(state=started) starts the app again with the instance count it had
    before it was stopped (the API's C(lastRunningInstanceCount)), or O(instances); O(state=restarted) follows the
    Deploy API's restart recipe - instances to 0, then back - each step waited. After a change that leaves the app
    running, the task waits until the environment is C(Ready).
  - O(state=absent) deletes the environment (and waits for the job). A production environment is only deleted with
    O(allow_production_delete=true). The settings are accepted and ignored with O(state=absent), so that one list of
    environment definitions can drive both creating and deleting.
  - A restart (O(state=restarted)) is reported in RV(changes) as C(restart); it is no field of the manifest, so the
    diff shows only the fields that change besides it.
  - The changes go through the collection's one environment service, the same as M(mendix.private_cloud.mx_deployment),
    with the same lock per environment on this controller, the same job and C(Ready) waits, the same restart recipe.
  - Write-only material - the runtime secrets, the client certificates' keys and passwords, and any other field the
    API marks as a password or a secret - never appears in RV(environment), RV(changes), the diff or a message.
  - An unchanged task costs one C(GET). Check mode sends no write and says whether a change would be made; diff mode
    shows only the fields that change, with secrets masked.
  - Deploying another package to an existing environment is M(mendix.private_cloud.mx_deployment)'s job;
    O(package_id) here is only used to create the environment.
author:
  - mendix.private_cloud maintainers (@mendix-private-cloud)
extends_documentation_fragment:
  - mendix.private_cloud.attributes
  - mendix.private_cloud.connection
  - mendix.private_cloud.wait
  - mendix.private_cloud.journal
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  app_id:
    description:
      - The App ID (a UUID) shown in the Mendix Portal.
    type: str
    required: true
  namespace_id:
    description:
      - ID of the namespace the environment runs in.
    type: str
    required: true
  environment_id:
    description:
      - ID of the environment, at most 32 characters. The client chooses it when the environment is created; it must
        be unique in the namespace (an environment of another app with the same id makes the create fail).
    type: str
    required: true
  state:
    description:
      - V(present) - the environment exists with the settings given.
      - V(absent) - the environment does not exist.
      - V(started) - as V(present), and the app runs (at least one instance).
      - V(stopped) - as V(present), and the app runs no instance (instances 0; the count is remembered by the API).
      - V(restarted) - as V(started), and the app is stopped and started again; always a change.
    type: str
    choices: [present, absent, started, stopped, restarted]
    default: present
  package_id:
    description:
      - The deployment package (a UUID) a new environment is created with; required to create one.
      - Not used when the environment exists; deploy with M(mendix.private_cloud.mx_deployment).
    type: str
  cluster_id:
    description:
      - The cluster (a UUID) a new environment is created in, with O(namespace). Required to create one.
    type: str
  namespace:
    description:
      - The name (not the id) of the cluster's namespace a new environment is created in. Required to create one.
    type: str
  name:
    description:
      - The environment's display name (C(properties.name)). A new environment is named after O(environment_id)
        unless this is given.
    type: str
  production:
    description:
      - Whether the environment is a production environment (C(properties.production)).
    type: bool
  app_url:
    description:
      - The app's URL (C(deployment.appUrl)), an http(s) URL. Required to create an environment.
    type: str
  instances:
    description:
      - Number of instances, 0 to 10. With O(state=started) or O(state=restarted) at least 1; not with
        O(state=stopped). A new environment gets 1 (0 when stopped) unless this is given.
    type: int
  constants:
    description:
      - Constants to set, name to value (for example V(MyFirstModule.ApiUrl)); other constants are left as they are.
        Values are sent as text (V(true)/V(false) for booleans); quote them to keep them exact.
      - Each name must be a constant the app's model defines, as the environment's manifest lists them.
    type: dict
  scheduled_events:
    description:
      - Scheduled events to turn on (V(true)) or off (V(false)), by name; others are left as they are. Each name must
        be a scheduled event the app's model defines.
    type: dict
  environment_variables:
    description:
      - Environment variables of the app, name to value; a value of V(null) removes the variable.
    type: dict
  custom_runtime_settings:
    description:
      - Custom runtime settings, name to value; a value of V(null) removes the setting.
    type: dict
  app_log_levels:
    description:
      - Log levels by log node name - V(CRITICAL), V(ERROR), V(INFO), V(DEBUG), V(TRACE) or V(NONE); a value of
        V(null) removes the node's level.
    type: dict
  resources:
    description:
      - CPU and memory limits and requests of each instance (C(container.coreResources)). CPU is in cores, memory
        and ephemeral storage in GB, as the API counts them; values not given are left as they are (a new
        environment gets the API's example, 1 core and 0.512 GB).
    type: dict
    suboptions:
      limits:
        description: Limits.
        type: dict
        suboptions:
          cpu:
            description: Cores, for example V(1) or V(0.5).
            type: str
          memory:
            description: GB, for example V(1).
            type: str
          ephemeral_storage:
            description: GB.
            type: str
      requests:
        description: Requests.
        type: dict
        suboptions:
          cpu:
            description: Cores.
            type: str
          memory:
            description: GB.
            type: str
          ephemeral_storage:
            description: GB.
            type: str
  deployment_strategy:
    description:
      - How the operator replaces the app's pods (Deploy API 4.13 C(deploymentStrategy)).
    type: dict
    suboptions:
      type:
        description: V(Default) stops all pods first; V(Reduced App Downtime) replaces them gradually.
        type: str
        choices: [Default, Reduced App Downtime]
      switch_over_threshold:
        description: Percentage at which the remaining old pods are replaced at once.
        type: int
      max_surge:
        description: Percentage of extra pods allowed during an update.
        type: int
      max_unavailable:
        description: Percentage of pods that may be down during an update.
        type: int
  annotations:
    description:
      - Kubernetes annotations, each by its type and key; other annotations are left as they are. An item with
        O(annotations[].value=null) removes the annotation.
    type: list
    elements: dict
    suboptions:
      key:
        description: Annotation key, for example V(prometheus.io/port).
        type: str
        required: true
      value:
        description: Annotation value.
        type: str
      type:
        description: Where the annotation goes.
        type: str
        choices: [Pod, Service, Ingress]
        default: Pod
  manifest:
    description:
      - "Any other part of the manifest, as a fragment of it, for example
        C({environment: {runtimeMetricsConfiguration: {mode: native}}}), merged in after the options above - objects
        key by key, named lists by name, other values replaced."
      - It cannot change the environment's id, its provider, or the non-editable fields, and cannot hold write-only
        material - runtime secrets, C(network.outgoingConnectionCertificate) (keys and passwords) or any other
        password or secret field - which has options of its own that are kept out of the output.
    type: dict
  mx_admin_password:
    description:
      - Password of the app's MxAdmin user. Write-only - the API never returns it, so it cannot be compared; see
        O(update_secrets). An empty string clears it. Sent base64-encoded, as the API wants it.
    type: str
  debugger_password:
    description:
      - Password of the debugger; an empty string disables the debugger. Write-only, like O(mx_admin_password).
    type: str
  subscription_secret:
    description:
      - The runtime's subscription secret; an empty string clears it. Write-only, like O(mx_admin_password).
    type: str
  outgoing_connection_certificates:
    description:
      - The client certificates the app presents on outgoing connections (the Deploy API's
        C(network.outgoingConnectionCertificate)). Write-only like the secrets - their keys and passwords never
        appear in the output, so they are sent as O(update_secrets) says, and the list given replaces the
        environment's.
    type: list
    elements: dict
    suboptions:
      key:
        description: The certificate and its private key, a base64-encoded C(.pfx) file.
        type: str
        required: true
      password:
        description: The password of the C(.pfx) file, base64-encoded as the API takes it.
        type: str
      certificate_type:
        description: The certificate's type, as the API names it.
        type: str
        default: Client
      enabled:
        description: Whether the app uses the certificate.
        type: bool
        default: true
  update_secrets:
    description:
      - V(on_create) sends the secrets (and O(outgoing_connection_certificates)) only when the environment is created;
        later runs leave them, so that a re-run is V(ok).
      - V(always) sends them on every run; as they cannot be read back, every such run is a change.
    type: str
    choices: [on_create, always]
    default: on_create
  allow_production_delete:
    description:
      - O(state=absent) deletes a production environment only when this is V(true).
    type: bool
    default: false
notes:
  - Needs a token with the scope C(mx:deployment:write) (C(mx:deployment:read) is enough in check mode).
  - The whole task ends within O(wait_timeout) plus one O(request_timeout); a restart's two steps and the wait for
    C(Ready) share that time.
  - Secrets and the token never appear in the result, in diffs or in logs.
seealso:
  - module: mendix.private_cloud.mx_environment_info
  - module: mendix.private_cloud.mx_deployment
  - name: Deploy API reference
    description: Mendix for Private Cloud Deploy API documentation.
    link: https://docs.mendix.com/apidocs-mxsdk/apidocs/private-cloud-deploy-api/
"""

EXAMPLES = r"""
- name: Build the head of main, to create the environment with
  mendix.private_cloud.mx_package:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    branch: main
  register: build

- name: An acceptance environment with its constants and scheduled events
  mendix.private_cloud.mx_environment:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    namespace_id: d43aee0b-f7db-4e62-868b-1192d392cfed
    environment_id: acceptance
    name: Acceptance
    cluster_id: a712d8f4-a77c-4189-a211-e0ea1dfde03c
    namespace: demo-namespace
    package_id: "{{ build.package_id }}"
    app_url: https://acceptance.apps.example.test
    constants:
      MyFirstModule.ApiUrl: https://api.acceptance.example.test
    scheduled_events:
      MyFirstModule.NightlyCleanup: true
    environment_variables:
      TZ: Europe/Amsterdam
    resources:
      limits: {cpu: "1", memory: "1"}
      requests: {cpu: "0.5", memory: "0.5"}
    mx_admin_password: "{{ vault_mx_admin_password }}"

- name: Scale it
  mendix.private_cloud.mx_environment:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    namespace_id: d43aee0b-f7db-4e62-868b-1192d392cfed
    environment_id: acceptance
    instances: 2

- name: Run it by day, stop it at night (a schedule sets acceptance_state; the instance count is remembered)
  mendix.private_cloud.mx_environment:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    namespace_id: d43aee0b-f7db-4e62-868b-1192d392cfed
    environment_id: acceptance
    state: "{{ acceptance_state | default('started') }}"

- name: Remove the environment of a finished feature branch
  mendix.private_cloud.mx_environment:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    namespace_id: d43aee0b-f7db-4e62-868b-1192d392cfed
    environment_id: feature-login
    state: absent
"""

RETURN = r"""
environment:
  description:
    - The environment's manifest after the task (in check mode, as it would be), with snake_case keys; no secrets.
    - Empty when the environment does not exist.
  returned: always
  type: dict
  sample:
    id: acceptance
    properties: {name: Acceptance, production: false}
    deployment: {app_url: https://acceptance.apps.example.test, package_id: 6a1d0f3e-2b4c-4d5e-8f90-a1b2c3d4e5f6}
    container: {instances: 2, state: Ready, last_running_instance_count: 2}
changes:
  description:
    - The fields the task changed (or in check mode would change), as dotted paths in the manifest's environment
      (named list items by name, for example C(deployment.constants[MyFirstModule.ApiUrl].value)), and C(restart) for
      a restart.
  returned: always
  type: list
  elements: str
created:
  description: Whether the environment was created (or in check mode would be).
  returned: always
  type: bool
deleted:
  description: Whether the environment was deleted (or in check mode would be).
  returned: always
  type: bool
secrets_sent:
  description: The names of the secrets written, C(network.outgoingConnectionCertificate) for the certificates (never
    their values).
  returned: always
  type: list
  elements: str
jobs:
  description: The Deploy API jobs waited on, in order.
  returned: when a change was made
  type: list
  elements: dict
ready:
  description: How long the wait for C(Ready) took (C(elapsed) seconds, C(polls)).
  returned: when the environment was waited on to be Ready
  type: dict
"""

import copy
import re

from ansible.module_utils.basic import env_fallback

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._env_service import (
    DeployFailed,
    EnvironmentService,
    LockTimeout,
    check_package,
    container,
)
from ansible_collections.mendix.private_cloud.plugins.module_utils._environment import (
    ANNOTATION_TYPES,
    LOG_LEVELS,
    NON_EDITABLE,
    SECRETS,
    STRATEGY_TYPES,
    add_secrets,
    apply_settings,
    differences,
    diff_of,
    new_manifest,
    unknown_names,
)
from ansible_collections.mendix.private_cloud.plugins.module_utils._journal import ENV_DIR
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_length, check_uuid, snake
from ansible_collections.mendix.private_cloud.plugins.module_utils._output import public, secret_paths

RESOURCE = dict(type="dict", options=dict(cpu=dict(type="str"), memory=dict(type="str"), ephemeral_storage=dict(type="str")))


def main():
    module = MendixModule(
        argument_spec=dict(
            app_id=dict(type="str", required=True),
            namespace_id=dict(type="str", required=True),
            environment_id=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent", "started", "stopped", "restarted"]),
            package_id=dict(type="str"),
            cluster_id=dict(type="str"),
            namespace=dict(type="str"),
            name=dict(type="str"),
            production=dict(type="bool"),
            app_url=dict(type="str"),
            instances=dict(type="int"),
            constants=dict(type="dict"),
            scheduled_events=dict(type="dict"),
            environment_variables=dict(type="dict"),
            custom_runtime_settings=dict(type="dict"),
            app_log_levels=dict(type="dict"),
            resources=dict(type="dict", options=dict(limits=RESOURCE, requests=RESOURCE)),
            deployment_strategy=dict(type="dict", options=dict(
                type=dict(type="str", choices=list(STRATEGY_TYPES)), switch_over_threshold=dict(type="int"),
                max_surge=dict(type="int"), max_unavailable=dict(type="int"))),
            annotations=dict(type="list", elements="dict", options=dict(
                key=dict(type="str", required=True, no_log=False), value=dict(type="str"),
                type=dict(type="str", default="Pod", choices=list(ANNOTATION_TYPES)))),
            manifest=dict(type="dict"),
            mx_admin_password=dict(type="str", no_log=True),
            debugger_password=dict(type="str", no_log=True),
            subscription_secret=dict(type="str", no_log=True),
            outgoing_connection_certificates=dict(type="list", elements="dict", options=dict(
                key=dict(type="str", required=True, no_log=True), password=dict(type="str", no_log=True),
                certificate_type=dict(type="str", default="Client"), enabled=dict(type="bool", default=True))),
            update_secrets=dict(type="str", default="on_create", choices=["on_create", "always"], no_log=False),
            allow_production_delete=dict(type="bool", default=False),
            job_journal_dir=dict(type="path", fallback=(env_fallback, [ENV_DIR])),
        ),
        wait=True,
        supports_check_mode=True,
        required_together=[("cluster_id", "namespace")],
    )
    module.fail_on(input_errors(module), changed=False)
    module.check_connection_input()
    p = module.params
    service = EnvironmentService(module, p["app_id"].lower(), p["namespace_id"], p["environment_id"])
    try:
        # one change to an environment at a time from this controller, deploys included
        with service.lock():
            Environment(module, service).run()
    except LockTimeout as exc:
        module.fail_json(msg="%s; raise wait_timeout, or look for a task that hangs" % exc, changed=False)


def input_errors(module):
    """Every problem with the options, found before any call."""
    p = module.params
    state = p["state"]
    errors = check_uuid("app_id", p["app_id"])
    errors += check_length("namespace_id", p["namespace_id"], 1, 64)
    errors += check_length("environment_id", p["environment_id"], 1, 32, " (the environment's ID, not its name)")
    for option, what in (("package_id", "the UUID of a deployment package of this app"), ("cluster_id", "the cluster's UUID")):
        if p[option] is not None:
            errors += check_uuid(option, p[option], what)
    if p["app_url"] is not None and not re.match(r"^https?://[^/\s]+", p["app_url"]):
        errors.append("app_url must be an http(s) URL such as https://myapp.example.com, got %r" % p["app_url"])
    if p["instances"] is not None:
        if not 0 <= p["instances"] <= 10:
            errors.append("instances must be from 0 to 10, got %d" % p["instances"])
        elif state in ("started", "restarted") and p["instances"] == 0:
            errors.append("instances must be at least 1 with state=%s; use state=stopped to stop the app" % state)
        elif state == "stopped" and p["instances"] > 0:
            errors.append("state=stopped sets instances to 0; leave instances out (the API remembers the count for "
                          "state=started)")
    for option in ("constants", "environment_variables", "custom_runtime_settings", "scheduled_events", "app_log_levels"):
        for key in (p[option] or {}):
            if not str(key).strip():
                errors.append("%s: names must not be empty" % option)
    for name, value in (p["scheduled_events"] or {}).items():
        if not isinstance(value, bool):
            errors.append("scheduled_events: %s must be true or false, got %r" % (name, value))
    for name, value in (p["app_log_levels"] or {}).items():
        if value is not None and value not in LOG_LEVELS:
            errors.append("app_log_levels: %s must be one of %s, got %r" % (name, ", ".join(LOG_LEVELS), value))
    for name, value in (p["constants"] or {}).items():
        if isinstance(value, (dict, list)) or value is None:
            errors.append("constants: %s must be a text, number or boolean value, got %r" % (name, value))
    for option in ("environment_variables", "custom_runtime_settings"):
        for name, value in (p[option] or {}).items():
            if isinstance(value, (dict, list)):
                errors.append("%s: %s must be a text, number or boolean value (or null to remove it)" % (option, name))
    strategy = p["deployment_strategy"] or {}
    for option in ("switch_over_threshold", "max_surge", "max_unavailable"):
        if strategy.get(option) is not None and not 0 <= strategy[option] <= 100:
            errors.append("deployment_strategy.%s is a percentage, 0 to 100, got %d" % (option, strategy[option]))
    if state == "restarted" and not p["wait"]:
        errors.append("state=restarted needs wait=true: the app is started again once it has stopped")
    errors += manifest_errors(p)
    errors += module.wait_errors()
    return errors


def manifest_errors(p):
    fragment = p["manifest"]
    if fragment is None:
        return []
    unknown = sorted(set(fragment) - set(["environment", "manifestVersion"]))
    if unknown:
        return ["manifest is a fragment of an environment manifest, with the key environment; it has %s" % ", ".join(unknown)]
    env = fragment.get("environment")
    if env is None:
        return []
    if not isinstance(env, dict):
        return ["manifest.environment must be a mapping"]
    errors = []
    if "id" in env and env["id"] != p["environment_id"]:
        errors.append("manifest.environment.id cannot change the environment's id; leave it out")
    for path in NON_EDITABLE:
        section = env
        for key in path[:-1]:
            section = section.get(key) if isinstance(section.get(key), dict) else {}
        if path[-1] in section:
            errors.append("manifest.environment.%s cannot be set: the API does not let a client change it"
                          % ".".join(path))
    options = dict((field, option) for option, field in SECRETS.items())
    options["outgoingConnectionCertificate"] = "outgoing_connection_certificates"
    for path in secret_paths(env, "manifest.environment"):
        field = path.split(".")[-1].split("[")[0]
        owner = options.get(field) or next((o for f, o in options.items() if "%s[" % f in path), None)
        errors.append("%s is write-only material: give it %s, which is kept out of the output"
                      % (path, "as %s" % owner if owner else "through an option of this module"))
    network = env.get("network") if isinstance(env.get("network"), dict) else {}
    if "outgoingConnectionCertificate" in network:
        errors.append("manifest.environment.network.outgoingConnectionCertificate holds certificate keys and passwords: "
                      "give it as outgoing_connection_certificates, which is kept out of the output")
    return errors


class Environment(object):
    """One task: read, decide, write once, wait, read back."""

    def __init__(self, module, service):
        self.module = module
        self.p = module.params
        self.service = service
        self.client = service.client
        self.app_id, self.ns, self.env_id = service.app_id, service.ns, service.env_id
        self.where = service.where
        self.jobs = service.jobs
        self.result = dict(changes=[], created=False, deleted=False, secrets_sent=[])

    # ------------------------------------------------------------------ reading
    def read(self, missing_ok=False):
        try:
            return self.service.read(missing_ok)
        except DeployFailed as exc:
            self.fail(exc.message)
        except MendixApiError as exc:
            self.module.fail_api(exc, changed=bool(self.jobs), jobs=self.jobs, **self.result)

    def fail(self, msg, **extra):
        result = dict(self.result, **extra)
        if "environment" in result:
            result["environment"] = public(result["environment"])
        self.module.fail_json(msg=msg, changed=bool(self.jobs), jobs=self.jobs, **result)

    def done(self, manifest, changed):
        env = public(snake((manifest or {}).get("environment") or {}))
        result = dict(self.result, environment=env, jobs=self.jobs)
        if self.service.ready:
            result["ready"] = self.service.ready
        self.module.exit_json(changed=changed, **result)

    # ------------------------------------------------------------------ deciding
    def secrets_to_send(self, creating):
        if not creating and self.p["update_secrets"] != "always":
            return []
        sent = [field for option, field in sorted(SECRETS.items()) if self.p[option] is not None]
        if self.p["outgoing_connection_certificates"] is not None:
            sent.append("network.outgoingConnectionCertificate")
        return sent

    def instances_for(self, current):
        """The instance count the state asks for, or None to leave it."""
        p, state = self.p, self.p["state"]
        if state == "stopped":
            return 0
        if p["instances"] is not None:
            return p["instances"]
        if state in ("started", "restarted"):
            box = (current or {}).get("environment", {}).get("container", {})
            now = int(box.get("instances") or 0)
            if now > 0:
                return now
            return int(box.get("lastRunningInstanceCount") or 0) or 1
        return None

    def run(self):
        p = self.p
        current = self.read(missing_ok=True)
        if p["state"] == "absent":
            self.remove(current)
        if current is None:
            self.create()
        self.update(current)

    # ------------------------------------------------------------------ absent
    def remove(self, current):
        if current is None:
            self.done(None, False)
        env = current["environment"]
        if (env.get("properties") or {}).get("production") and not self.p["allow_production_delete"]:
            self.fail("%s is a production environment; it is deleted only with allow_production_delete: true" % self.where)
        self.result.update(deleted=True, diff={"before": {"id": self.env_id, "exists": True}, "after": {"exists": False}})
        if self.module.check_mode:
            self.done(None, True)
        try:
            self.service.delete("deleting %s" % self.where)
        except MendixApiError as exc:
            self.module.fail_api(exc, changed=False, **self.result)
        except DeployFailed as exc:
            self.fail(exc.message)
        if not self.p["wait"]:
            self.done(None, True)
        if self.read(missing_ok=True) is not None:
            self.fail("The delete job of %s finished, but the environment is still there" % self.where)
        self.done(None, True)

    # ------------------------------------------------------------------ create
    def create(self):
        p = self.p
        if p["state"] == "restarted":
            self.fail("%s does not exist, so it cannot be restarted; create it with state=present or started" % self.where)
        missing = [o for o in ("package_id", "cluster_id", "namespace", "app_url") if not p[o]]
        if missing:
            self.fail("%s does not exist; to create it, give %s (the deployment package to run, the cluster's UUID and "
                      "the namespace's name, and the app's URL)" % (self.where, ", ".join(missing)))
        instances = self.instances_for(None)
        manifest = new_manifest(p, 1 if instances is None else instances)
        changes = differences({}, manifest)
        secrets = self.secrets_to_send(True)
        self.result.update(created=True, changes=sorted(changes), secrets_sent=secrets,
                           diff=diff_of(changes, secrets))
        # the same check in check mode as in a real run: a create with a package that does not exist is predicted to fail
        check_package(self.module, self.client, self.app_id, p["package_id"].lower(), "created")
        if self.module.check_mode:
            self.done(manifest, True)
        try:
            self.service.create(add_secrets(copy.deepcopy(manifest), p), "creating %s" % self.where)
        except MendixApiError as exc:
            self.module.fail_api(exc, changed=False, **self.result)
        except DeployFailed as exc:
            if "exist" in exc.message:
                self.fail("%s. environment_id=%s is taken in namespace %s (by another app's environment, or one created "
                          "meanwhile): environment ids must be unique in a namespace; choose another."
                          % (exc.message, self.env_id, p["namespace"]))
            self.fail(exc.message)
        if not p["wait"]:
            self.done(manifest, True)
        self.settle_and_verify(manifest, changes)

    # ------------------------------------------------------------------ update
    def update(self, current):
        p = self.p
        running = container(current)[0]
        if p["package_id"] and p["package_id"].lower() != (running or "").lower():
            self.module.warn("package_id is used only to create an environment; %s runs package %s. Deploy another package "
                             "with mendix.private_cloud.mx_deployment." % (self.where, running or "(none)"))
        problems = unknown_names(current, p)
        if problems:
            self.fail("Invalid input for %s: %s" % (self.where, "; ".join(problems)))
        desired = apply_settings(current, p, self.instances_for(current))
        changes = differences(current, desired)
        secrets = self.secrets_to_send(False)
        restart = p["state"] == "restarted"
        # a restart is a change of its own, named as such; it has no field in the manifest, so the diff shows none
        self.result.update(changes=sorted(changes) + (["restart"] if restart else []), secrets_sent=secrets,
                           diff=diff_of(changes, secrets))
        if not changes and not secrets and not restart:
            self.done(current, False)
        if self.module.check_mode:
            self.done(desired, True)
        # Read again just before writing: an edit made by someone else since the first read is kept, not lost.
        fresh = self.read()
        theirs = differences(current, fresh)
        if theirs:
            desired = apply_settings(fresh, p, self.instances_for(fresh))
            overlap = sorted(set(theirs) & set(changes))
            self.module.warn("%s was changed by someone else while this task ran (%s); those changes are kept%s."
                             % (self.where, ", ".join(sorted(theirs)),
                                "" if not overlap else ", except %s, which this task sets" % ", ".join(overlap)))
        instances = int(desired["environment"]["container"].get("instances") or 0)
        try:
            if restart:
                self.service.restart(desired, instances, (lambda body: add_secrets(body, p)) if secrets else None)
            else:
                body = add_secrets(copy.deepcopy(desired), p) if secrets else desired
                self.service.put(body, "updating %s" % self.where, wait=p["wait"])
        except MendixApiError as exc:
            self.module.fail_api(exc, changed=bool(self.jobs), jobs=self.jobs, **self.result)
        except DeployFailed as exc:
            self.fail(exc.message)
        if not p["wait"]:
            self.done(desired, True)
        self.settle_and_verify(desired, changes)

    # ------------------------------------------------------------------ after a write
    def settle_and_verify(self, desired, changes):
        """Wait for Ready when the app runs, then check that every field set was kept."""
        final = self.read()
        package_id, dummy = container(final)
        instances = int(final["environment"]["container"].get("instances") or 0)
        if instances > 0 and package_id:
            try:
                final = self.service.wait_ready(package_id)
            except (DeployFailed, MendixApiError) as exc:
                self.fail("%s was changed, but: %s" % (self.where, getattr(exc, "message", exc)),
                          environment=snake(final["environment"]))
        lost = sorted(path for path in changes if path in differences(desired, final))
        if lost:
            self.fail("The Deploy API accepted the change of %s, but the manifest read back does not have %s as set"
                      % (self.where, ", ".join(lost)), environment=snake(final["environment"]))
        self.done(final, True)


if __name__ == "__main__":
    main()

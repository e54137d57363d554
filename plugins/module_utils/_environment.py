# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Environment manifests as code: the options of mx_environment applied to a manifest, and what differs.

A manifest is compared field by field on its editable parts. Lists of named items (constants, scheduled events,
environment variables, custom runtime settings, log levels, annotations) are compared by their key, not their
position, so a list the API returns in another order is no change. Secrets are write-only and never compared.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy

from ansible_collections.mendix.private_cloud.plugins.module_utils._output import public

# Parts of a manifest the API does not let a client change: never compared, never written differently.
NON_EDITABLE = (("container", "state"), ("container", "lastRunningInstanceCount"), ("properties", "environmentPurpose"),
                ("provider",))
# Lists whose items are named: compared and merged by the item's key.
KEYED_LISTS = {
    "constants": ("name",),
    "scheduledEvents": ("name",),
    "appLogLevels": ("name",),
    "environmentVariables": ("name",),
    "customRuntimeSettings": ("name",),
    "annotations": ("annotationType", "key"),
    "services": ("name",),
}
SECRETS = {"mx_admin_password": "mxAdminPassword", "debugger_password": "debuggerPassword",
           "subscription_secret": "subscriptionSecret"}
CLEAR_SECRET = "LS0t"  # base64 of "---": the API's value that clears a secret
MASK = "********"
LOG_LEVELS = ("CRITICAL", "NONE", "DEBUG", "TRACE", "INFO", "ERROR")
ANNOTATION_TYPES = ("Pod", "Service", "Ingress")
STRATEGY_TYPES = ("Default", "Reduced App Downtime")
DEFAULT_RESOURCES = {"cpu": "1", "memory": "0.512"}  # the spec's example: 1 core, 0.512 GB


def item_key(list_name, item):
    fields = KEYED_LISTS[list_name]
    return "/".join(str(item.get(f, "")) for f in fields) if len(fields) > 1 else str(item.get(fields[0], ""))


def merge_keyed(list_name, current, updates):
    """``current`` (a list of named items) with ``updates`` applied by key: an item given replaces the fields it
    gives, a new one is appended, ``None`` as an update removes the item. The order of the items kept is kept."""
    out = [copy.deepcopy(item) for item in current or [] if isinstance(item, dict)]
    index = dict((item_key(list_name, item), pos) for pos, item in enumerate(out))
    removed = set()
    for key, update in updates:
        if update is None:
            removed.add(key)
            continue
        removed.discard(key)
        if key in index:
            out[index[key]].update(update)
        else:
            index[key] = len(out)
            out.append(dict(update))
    return [item for item in out if item_key(list_name, item) not in removed]


def deep_merge(target, fragment):
    """Merge a manifest fragment into ``target`` in place: objects key by key, named lists by key, other values
    replaced."""
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            deep_merge(target[key], value)
        elif isinstance(value, list) and key in KEYED_LISTS and isinstance(target.get(key), list):
            target[key] = merge_keyed(key, target[key], [(item_key(key, item), item) for item in value if isinstance(item, dict)])
        else:
            target[key] = copy.deepcopy(value)
    return target


def text(value):
    """A setting's value as the API's string: booleans as true/false, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "%s" % (value,)


def encode_secret(value):
    """The API takes secrets base64-encoded; an empty value clears the secret."""
    if value == "":
        return CLEAR_SECRET
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def apply_settings(manifest, p, instances=None):
    """A copy of ``manifest`` with mx_environment's settings ``p`` (module params) applied; what is not given is left
    as it is. ``instances`` (when not None) is the instance count the state asks for."""
    out = copy.deepcopy(manifest)
    env = out.setdefault("environment", {})
    props = env.setdefault("properties", {})
    deployment = env.setdefault("deployment", {})
    container = env.setdefault("container", {})
    runtime = env.setdefault("runtime", {})
    if p.get("name") is not None:
        props["name"] = p["name"]
    if p.get("production") is not None:
        props["production"] = p["production"]
    if p.get("app_url") is not None:
        deployment["appUrl"] = p["app_url"]
    if instances is not None:
        container["instances"] = instances
    lists = (
        (deployment, "constants", p.get("constants"), lambda k, v: {"name": k, "value": text(v)}),
        (deployment, "scheduledEvents", p.get("scheduled_events"), lambda k, v: {"name": k, "enabled": bool(v)}),
        (deployment, "appLogLevels", p.get("app_log_levels"), lambda k, v: {"name": k, "level": v}),
        (runtime, "environmentVariables", p.get("environment_variables"), lambda k, v: {"name": k, "value": text(v)}),
        (runtime, "customRuntimeSettings", p.get("custom_runtime_settings"), lambda k, v: {"name": k, "value": text(v)}),
    )
    for section, list_name, given, make in lists:
        if given:
            updates = [(k, None if v is None else make(k, v)) for k, v in given.items()]
            section[list_name] = merge_keyed(list_name, section.get(list_name), updates)
    if p.get("annotations"):
        updates = []
        for item in p["annotations"]:
            made = {"annotationType": item["type"], "key": item["key"], "value": text(item["value"])}
            updates.append((item_key("annotations", made), None if item.get("value") is None else made))
        env["annotations"] = merge_keyed("annotations", env.get("annotations"), updates)
    if p.get("resources"):
        resources = container.setdefault("coreResources", {})
        for part in ("limits", "requests"):
            given = (p["resources"] or {}).get(part) or {}
            target = resources.setdefault(part, dict(DEFAULT_RESOURCES))
            for option, field in (("cpu", "cpu"), ("memory", "memory"), ("ephemeral_storage", "ephemeralStorage")):
                if given.get(option) is not None:
                    target[field] = text(given[option])
    if p.get("deployment_strategy"):
        strategy = env.setdefault("deploymentStrategy", {})
        given = p["deployment_strategy"]
        for option, field in (("type", "runtimeDeploymentStrategyType"), ("switch_over_threshold", "switchOverthreshold"),
                              ("max_surge", "maxSurge"), ("max_unavailable", "maxUnavailable")):
            if given.get(option) is not None:
                strategy[field] = given[option]
    if p.get("manifest"):
        deep_merge(out, p["manifest"])
    return out


def new_manifest(p, instances):
    """The manifest a new environment is created with: the options, with the schema's required parts filled."""
    resources = {"limits": dict(DEFAULT_RESOURCES), "requests": dict(DEFAULT_RESOURCES)}
    base = {
        "manifestVersion": "2.0.0",
        "environment": {
            "id": p["environment_id"],
            "properties": {"name": p["environment_id"], "production": False, "defaultStudioTarget": False,
                           "secretsStoreEnabled": False},
            "deployment": {"appUrl": p.get("app_url") or "", "packageId": (p.get("package_id") or "").lower(),
                           "constants": [], "scheduledEvents": [], "appLogLevels": []},
            "container": {"instances": instances, "coreResources": resources},
            "runtime": {"environmentVariables": [], "customRuntimeSettings": []},
            "provider": {"clusterId": p.get("cluster_id") or "", "namespace": p.get("namespace") or ""},
            "annotations": [],
            "services": [],
        },
    }
    return apply_settings(base, p)


def add_secrets(manifest, p):
    """Put the secrets given into a manifest about to be written (never into anything returned): the runtime secrets,
    and the client certificates, whose list replaces the environment's."""
    runtime = manifest["environment"].setdefault("runtime", {})
    for option, field in SECRETS.items():
        if p.get(option) is not None:
            runtime[field] = encode_secret(p[option])
    if p.get("outgoing_connection_certificates") is not None:
        network = manifest["environment"].setdefault("network", {})
        fields = (("enabled", "enabled"), ("certificate_type", "certificateType"), ("key", "key"), ("password", "password"))
        network["outgoingConnectionCertificate"] = [
            dict((field, item[option]) for option, field in fields if item.get(option) is not None)
            for item in p["outgoing_connection_certificates"]]
    return manifest


def editable(manifest):
    """The parts of a manifest a client may change, without write-only material (the one output filter): what is
    compared, so that no change, diff or message ever carries a secret."""
    env = public((manifest or {}).get("environment") or {})
    for path in NON_EDITABLE:
        section = env
        for key in path[:-1]:
            section = section.get(key) if isinstance(section.get(key), dict) else {}
        section.pop(path[-1], None)
    runtime = env.get("runtime")
    if isinstance(runtime, dict):
        for field in SECRETS.values():
            runtime.pop(field, None)
    return env


def flatten(value, prefix="", out=None):
    """{dotted path: leaf value}; named lists become path[key] entries, so that their order does not count."""
    out = {} if out is None else out
    if isinstance(value, dict):
        for key in sorted(value):
            flatten(value[key], "%s.%s" % (prefix, key) if prefix else key, out)
        if not value and prefix:
            out[prefix] = {}
    elif isinstance(value, list) and prefix.split(".")[-1] in KEYED_LISTS and all(isinstance(i, dict) for i in value):
        name = prefix.split(".")[-1]
        if not value:
            out[prefix] = []
        for item in value:
            flatten(item, "%s[%s]" % (prefix, item_key(name, item)), out)
    else:
        out[prefix] = value
    return out


def differences(before, after):
    """The fields (dotted paths) whose values differ between two manifests' editable parts: {path: (before, after)},
    a missing field being None. An empty list or object and a missing one are the same."""
    old, new = flatten(editable(before)), flatten(editable(after))
    out = {}
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if a in ([], {}):
            a = None
        if b in ([], {}):
            b = None
        if a != b:
            out[path] = (a, b)
    return out


def diff_of(changes, secrets=()):
    """Diff mode's before and after: only the fields that change, secrets masked."""
    before = dict((path, old) for path, (old, new) in changes.items() if old is not None)
    after = dict((path, new) for path, (old, new) in changes.items() if new is not None)
    for field in secrets:
        before["runtime.%s" % field] = "(write-only)"
        after["runtime.%s" % field] = MASK
    return {"before": before, "after": after}


def unknown_names(manifest, p):
    """Constants and scheduled events given that the environment's manifest does not list (the manifest lists what
    the model of the package it runs defines). Empty when the manifest lists none (nothing to check against)."""
    deployment = ((manifest or {}).get("environment") or {}).get("deployment") or {}
    problems = []
    for option, list_name in (("constants", "constants"), ("scheduled_events", "scheduledEvents")):
        known = [item.get("name") for item in deployment.get(list_name) or [] if isinstance(item, dict)]
        if not known:
            continue
        for name in sorted((p.get(option) or {}).keys()):
            if name not in known and (p.get(option) or {}).get(name) is not None:
                problems.append("%s: the app's model defines no %s named %r (it defines: %s)"
                                % (option, "constant" if option == "constants" else "scheduled event", name, ", ".join(known)))
    return problems

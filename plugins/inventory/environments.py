# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: environments
short_description: Mendix for Private Cloud environments as an inventory
version_added: 0.3.0
author:
  - mendix.private_cloud maintainers (@mendix-private-cloud)
description:
  - One host per environment of the apps the token can reach, read through the Deploy API (C(GET /apps), then
    C(GET /apps/{appId}/environments) of each app, every page, several apps at once).
  - The hosts are API objects, not machines - each gets C(ansible_connection=local) and the controller's Python, so a
    play over them runs the collection's modules on the controller with no delegation.
  - "Host variables: C(mendix_app_id), C(mendix_app_name), C(mendix_namespace_id), C(mendix_namespace),
    C(mendix_cluster_id), C(mendix_environment_id), C(mendix_environment_name), C(mendix_package_id) (null when
    nothing is deployed), C(mendix_state), C(mendix_instances), C(mendix_production), C(mendix_purpose),
    C(mendix_app_url), and the environment's manifest in snake_case under C(mendix_manifest)."
  - Write-only material (runtime secrets, client certificates' keys and passwords) never enters the inventory or its
    cache - the modules' output filter applies.
  - "Groups, out of the box: C(mendix_environments) (all), C(mendix_app_<app name>), C(mendix_namespace_<namespace
    name>), C(mendix_cluster_<cluster id>), C(mendix_purpose_<purpose>) (C(test), C(development), C(acceptance),
    C(production)), C(mendix_production) and C(mendix_non_production), C(mendix_state_<state>) (C(ready),
    C(processing), C(failed), ...). Group names are lower case with C(_) for anything but letters, digits and C(_)."
  - The file must be named C(*.mendix.yml) or C(*.mendix.yaml). An option it does not know fails the source, naming
    it.
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - mendix.private_cloud.connection.inventory
options:
  plugin:
    description: The name of this plugin; the file is read by it only when this says so.
    required: true
    type: str
    choices: [mendix.private_cloud.environments]
  apps:
    description:
      - Only the environments of these apps, each an App ID (a UUID) or an app's name as C(GET /apps) gives it.
      - An app the token cannot see fails the source, naming it. Empty (the default) takes every app.
    type: list
    elements: str
    default: []
  filters:
    description:
      - Only environments that match every key given; a key's value may be one value or a list of accepted values.
      - Keys - C(app_id), C(app_name), C(namespace_id), C(namespace), C(cluster_id), C(environment_id),
        C(environment_name), C(purpose), C(production), C(state) (the host variables without C(mendix_)).
        C(purpose) and C(state) compare without regard to case.
    type: dict
    default: {}
  hostname_template:
    description:
      - A Jinja2 expression (as in O(compose), without C({{ }})) over the host variables that names each host.
      - A name is made safe (anything but letters, digits, C(.), C(_) and C(-) becomes C(_)) and unique (C(_2),
        C(_3), ... in the order of app, namespace and environment ID).
    type: str
    default: "mendix_app_name ~ '-' ~ mendix_environment_id"
  concurrency:
    description: How many apps' environment lists are read at once (1 to 32).
    type: int
    default: 16
  timeout:
    description:
      - Seconds the whole read may take; a server that does not answer in that time fails the source instead of
        holding the inventory update.
    type: float
    default: 300
notes:
  - Needs a token with the scope C(mx:deployment:read) or C(mx:deployment:write).
  - With O(cache=true), an inventory read within O(cache_timeout) of the last sends no request; C(ansible-inventory
    --flush-cache) (or the update of an AWX inventory source) reads again.
  - An inventory source that fails leaves a warning and an empty inventory unless C(inventory_unparsed_failed) (or
    E(ANSIBLE_INVENTORY_UNPARSED_FAILED)) is set, which an unattended run should do.
seealso:
  - module: mendix.private_cloud.mx_environment
  - module: mendix.private_cloud.mx_environment_info
"""

EXAMPLES = r"""
# acceptance.mendix.yml: the acceptance environments of two apps (an ID and a name), cached for an hour, named
# <environment>.<app>, with groups and variables of your own
plugin: mendix.private_cloud.environments
apps:
  - c533ee0b-f7db-4e62-868b-1192d392ccec
  - demo-svn-app
filters:
  purpose: Acceptance
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/mendix-inventory
cache_timeout: 3600
hostname_template: "mendix_environment_id ~ '.' ~ mendix_app_name"
keyed_groups:
  - key: mendix_manifest.runtime.runtime_version
    prefix: runtime
compose:
  mendix_stopped: mendix_instances == 0
groups:
  mendix_empty: mendix_package_id is none
"""

import concurrent.futures
import re
import time

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import HAS_REQUESTS, Client, MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._output import public, snake
from ansible_collections.mendix.private_cloud.plugins.plugin_utils._options import did_you_mean

FILTER_KEYS = ("app_id", "app_name", "namespace_id", "namespace", "cluster_id", "environment_id", "environment_name",
               "purpose", "production", "state")
NO_CASE = ("purpose", "state")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CACHE_VERSION = 1
DEFAULT_HOSTNAME = "mendix_app_name ~ '-' ~ mendix_environment_id"

try:  # ansible-core 2.19 templates only strings marked as trusted
    from ansible.template import trust_as_template
except ImportError:  # before 2.19 every string is a template
    def trust_as_template(value):
        return value
# the Python that runs the play (the hosts are API objects served from the controller)
CONTROLLER_PYTHON = trust_as_template("{{ ansible_playbook_python }}")


def safe(name):
    return re.sub(r"[^A-Za-z0-9_]", "_", str(name)).lower()


def host_vars(app, entry):
    """The mendix_* variables of one environment (its manifest as listed, write-only material removed)."""
    env = public((entry or {}).get("environment") or {})
    props = env.get("properties") or {}
    deployment = env.get("deployment") or {}
    container = env.get("container") or {}
    provider = env.get("provider") or {}
    return {
        "mendix_app_id": app["appId"],
        "mendix_app_name": app.get("appName") or app["appId"],
        "mendix_namespace_id": provider.get("namespaceId"),
        "mendix_namespace": provider.get("namespace"),
        "mendix_cluster_id": provider.get("clusterId"),
        "mendix_environment_id": env.get("id"),
        "mendix_environment_name": props.get("name") or env.get("id"),
        "mendix_package_id": deployment.get("packageId") or None,
        "mendix_state": container.get("state"),
        "mendix_instances": container.get("instances"),
        "mendix_production": bool(props.get("production")),
        "mendix_purpose": props.get("environmentPurpose"),
        "mendix_app_url": deployment.get("appUrl"),
        "mendix_manifest": snake(env),
    }


def matches(variables, filters):
    for key, wanted in filters.items():
        accepted = wanted if isinstance(wanted, list) else [wanted]
        value = variables.get("mendix_" + key)
        if key in NO_CASE:
            if str(value).lower() not in [str(item).lower() for item in accepted]:
                return False
        elif key == "production":
            if bool(value) not in [item if isinstance(item, bool) else str(item).lower() in ("true", "yes", "1")
                                   for item in accepted]:
                return False
        elif value not in accepted:
            return False
    return True


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "mendix.private_cloud.environments"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith((".mendix.yml", ".mendix.yaml"))

    def option(self, name):
        value = self.get_option(name)
        if isinstance(value, str) and self.templar is not None and self.templar.is_template(value):
            value = self.templar.template(value)
        return value

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        self.check_config(config, path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        data = None
        if use_cache:
            try:
                data = self._cache[cache_key]
            except KeyError:
                update_cache = True
            if not isinstance(data, dict) or data.get("version") != CACHE_VERSION or data.get("chosen") != self.wanted():
                data, update_cache = None, True  # another shape, or read for other apps
        if data is None:
            data = self.read_api()
        if update_cache:
            self._cache[cache_key] = data
        self.populate(data)

    # ------------------------------------------------------------------ configuration
    def check_config(self, config, path):
        from ansible import constants as C  # pylint: disable=import-outside-toplevel

        known = set(["plugin"]) | set(self._options)
        for name, definition in (C.config.get_configuration_definitions("inventory", self.NAME) or {}).items():
            known.add(name)
            known.update(definition.get("aliases") or [])
        unknown = sorted(set(config) - known)
        if unknown:
            raise AnsibleParserError("%s: %s does not know the option %s"
                                     % (path, self.NAME, ", ".join(name + did_you_mean(name, known) for name in unknown)))
        problems = []
        filters = self.get_option("filters") or {}
        for key in sorted(filters):
            if key not in FILTER_KEYS:
                problems.append("filters.%s is not a filter%s; filters are %s"
                                % (key, did_you_mean(key, FILTER_KEYS), ", ".join(FILTER_KEYS)))
        concurrency = self.get_option("concurrency")
        if not 1 <= concurrency <= 32:
            problems.append("concurrency must be 1 to 32, got %d" % concurrency)
        if self.get_option("timeout") <= 0:
            problems.append("timeout must be more than 0 seconds")
        if not self.option("token"):
            problems.append("token is required: set MENDIX_PAT (an AWX credential can) or the token option")
        if not HAS_REQUESTS:
            problems.append("the Python library requests is needed on the controller")
        if problems:
            raise AnsibleParserError("%s: %s" % (path, "; ".join(problems)))

    # ------------------------------------------------------------------ reading
    def read_api(self):
        """Every chosen app and its environments: {"version", "apps": [{"app": {...}, "environments": [...]}]}, with
        write-only material already removed (so that a cache never holds it)."""
        deadline = time.monotonic() + self.get_option("timeout")
        client = Client(self.option("base_url"), self.option("token"), validate_certs=self.get_option("validate_certs"),
                        ca_path=self.get_option("ca_path"), timeout=self.get_option("request_timeout"),
                        retries=self.get_option("retries"), deadline=deadline,
                        connections=self.get_option("concurrency"))
        try:
            listed = client.list_all("/apps", "apps", page_size=100, key=lambda a: a.get("appId"), item="app")
            apps = self.chosen([entry.get("app") or {} for entry in listed])
            with concurrent.futures.ThreadPoolExecutor(max_workers=self.get_option("concurrency")) as pool:
                lists = list(pool.map(lambda app: client.list_environments(app["appId"], page_size=100), apps))
        except MendixApiError as exc:
            raise AnsibleParserError("%s: %s" % (self.NAME, exc.message))
        except Exception as exc:  # pylint: disable=broad-except
            raise AnsibleParserError("%s: %s" % (self.NAME, to_native(exc)))
        return {"version": CACHE_VERSION, "chosen": self.wanted(),
                "apps": [{"app": app, "environments": public(envs)} for app, envs in zip(apps, lists)]}

    def wanted(self):
        return [str(name) for name in self.get_option("apps") or []]

    def chosen(self, apps):
        wanted = self.wanted()
        if not wanted:
            return sorted(apps, key=lambda a: (a.get("appName") or "", a.get("appId")))
        found, missing = [], []
        for name in wanted:
            name = str(name)
            hits = [a for a in apps if (UUID.match(name) and str(a.get("appId")).lower() == name.lower())
                    or a.get("appName") == name]
            if not hits:
                missing.append(name)
            for app in hits:
                if app not in found:
                    found.append(app)
        if missing:
            raise AnsibleParserError(
                "%s: apps: %s not among the apps the token can see (%s); give an App ID or a name as GET /apps lists it"
                % (self.NAME, ", ".join(missing), ", ".join(sorted(a.get("appName") or a.get("appId") for a in apps))
                   or "none"))
        return found

    # ------------------------------------------------------------------ the inventory
    def populate(self, data):
        filters = self.get_option("filters") or {}
        strict = self.get_option("strict")
        rows = []
        for entry in data.get("apps") or []:
            app = entry.get("app") or {}
            for env in entry.get("environments") or []:
                variables = host_vars(app, env)
                if variables["mendix_environment_id"] and matches(variables, filters):
                    rows.append(variables)
        rows.sort(key=lambda v: (v["mendix_app_name"], v["mendix_app_id"], v["mendix_namespace_id"] or "",
                                 v["mendix_environment_id"]))
        self.inventory.add_group("mendix_environments")
        taken = set()
        for variables in rows:
            name = self.host_name(variables, taken)
            self.inventory.add_host(name, group="mendix_environments")
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value)
            self.inventory.set_variable(name, "ansible_connection", "local")
            self.inventory.set_variable(name, "ansible_python_interpreter", CONTROLLER_PYTHON)
            for group in self.default_groups(variables):
                self.inventory.add_group(group)
                self.inventory.add_child(group, name)
            self._set_composite_vars(self.get_option("compose"), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), variables, name, strict=strict)

    def host_name(self, variables, taken):
        template = self.get_option("hostname_template")
        if template == DEFAULT_HOSTNAME:  # the default, without a template engine's round trip per host
            raw = "%s-%s" % (variables["mendix_app_name"], variables["mendix_environment_id"])
        else:
            try:
                raw = self._compose(template, variables)
            except Exception as exc:  # pylint: disable=broad-except
                raise AnsibleParserError("%s: hostname_template %r: %s" % (self.NAME, template, to_native(exc)))
        base = re.sub(r"[^A-Za-z0-9._-]", "_", to_native(raw)).strip("_") or "environment"
        name, count = base, 1
        while name in taken:
            count += 1
            name = "%s_%d" % (base, count)
        taken.add(name)
        return name

    @staticmethod
    def default_groups(variables):
        groups = ["mendix_app_" + safe(variables["mendix_app_name"])]
        if variables["mendix_namespace"] or variables["mendix_namespace_id"]:
            groups.append("mendix_namespace_" + safe(variables["mendix_namespace"] or variables["mendix_namespace_id"]))
        if variables["mendix_cluster_id"]:
            groups.append("mendix_cluster_" + safe(variables["mendix_cluster_id"]))
        if variables["mendix_purpose"]:
            groups.append("mendix_purpose_" + safe(variables["mendix_purpose"]))
        groups.append("mendix_production" if variables["mendix_production"] else "mendix_non_production")
        if variables["mendix_state"]:
            groups.append("mendix_state_" + safe(variables["mendix_state"]))
        return groups

# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: mx_package
short_description: The latest Mendix for Private Cloud deployment package of an app
version_added: 0.1.0
author:
  - mendix.private_cloud maintainers (@mendix-private-cloud)
description:
  - Returns the newest deployment package (latest C(createdOn), whatever the API's list order) of each app given,
    optionally filtered, for templating package ids into other tasks.
  - An option it does not know (a misspelt filter) fails the lookup, naming it, instead of being ignored.
  - With O(branch) and O(revision), the build of that branch at that revision (and O(version)), found by the
    same identity rules as M(mendix.private_cloud.mx_package).
  - Uses the same client, retries and connection options as the modules.
extends_documentation_fragment:
  - mendix.private_cloud.connection.plugins
options:
  _terms:
    description: App IDs (UUIDs).
    required: true
    type: list
    elements: str
  model_version:
    description: Only packages with this model version.
    type: str
  model_version_prefix:
    description: Only packages whose model version starts with this, for example C(1.2.) for every 1.2 build.
    type: str
  file_name:
    description:
      - Only packages with this file name (C(.mda) appended when missing) - the name stored, or the name an upload
        was given (an upload of C(my-app_2.2.1.mda) is stored as C(my-app_2.2.1.sha256-<16 hex digits>.mda)).
    type: str
  branch:
    description:
      - Only packages built from this branch - the newest build of a branch (as far as a package tells its branch
        - the collection's marker, or the Build API's documented names; uploads tell none).
      - With O(revision), only the build of this branch at that revision.
    type: str
  revision:
    description: With O(branch), the revision of the build (an SVN revision number or a git commit hash).
    type: str
  version:
    description: With O(branch) and O(revision), the version of the build; C(1.0.0), the API's default, when not given.
    type: str
  vcs:
    description: The app's version control system; V(auto) tells it from the evidence (see M(mendix.private_cloud.mx_package)).
    type: str
    choices: [auto, git, svn]
    default: auto
  missing:
    description: What to do when an app has no matching package.
    type: str
    choices: [error, empty]
    default: error
notes:
  - Needs a token with the scope C(mx:privatecloud-build:read) or C(write).
"""

EXAMPLES = r"""
- name: Deploy the latest package of branch main
  mendix.private_cloud.mx_deployment:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    namespace_id: d43aee0b-f7db-4e62-868b-1192d392cfed
    environment_id: gitdemo
    package_id: "{{ lookup('mendix.private_cloud.mx_package', 'c533ee0b-f7db-4e62-868b-1192d392ccec', branch='main').id }}"

- name: The newest 1.0.x package
  ansible.builtin.debug:
    msg: "{{ lookup('mendix.private_cloud.mx_package', app_id, model_version_prefix='1.0.') }}"
  vars:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
"""

RETURN = r"""
_raw:
  description: One package per app given (snake_case keys), or an empty dict with O(missing=empty) when none matches.
  type: list
  elements: dict
  contains:
    id:
      description: Package ID.
      type: str
    model_version:
      description: Model version.
      type: str
    file_name:
      description: File name.
      type: str
    file_size:
      description: Size in bytes.
      type: int
    created_on:
      description: When the package was created.
      type: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import HAS_REQUESTS, Client, MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._identity import filter_packages, resolve_vcs
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import check_build, check_uuid, snake
from ansible_collections.mendix.private_cloud.plugins.plugin_utils._options import did_you_mean


class LookupModule(LookupBase):

    def option(self, name):
        """An option's value, templated: one taken from a variable may be a template (a vaulted variable, say)."""
        value = self.get_option(name)
        if value is not None and not isinstance(value, (bool, int, float)) and self._templar is not None:
            value = self._templar.template(value)
        return value

    def known_options(self):
        """The option names the lookup takes, with their aliases."""
        names = set(self._options)
        try:
            from ansible import constants as C  # pylint: disable=import-outside-toplevel

            for name, definition in (C.config.get_configuration_definitions("lookup", self._load_name) or {}).items():
                names.add(name)
                names.update(definition.get("aliases") or [])
        except Exception:  # pylint: disable=broad-except
            pass  # the options set_options knows are enough
        return names

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        unknown = sorted(set(kwargs) - self.known_options())
        if unknown:
            hints = [name + did_you_mean(name, self._options) for name in unknown]
            raise AnsibleLookupError("mendix.private_cloud.mx_package does not know the option %s; its options are %s"
                                     % (", ".join(hints), ", ".join(sorted(o for o in self._options if o != "_terms"))))
        if not HAS_REQUESTS:
            raise AnsibleLookupError("mendix.private_cloud.mx_package needs the Python library requests on the controller")
        token = self.option("token")
        if not token:
            raise AnsibleLookupError("token is required: set the token option, the mendix_pat variable or MENDIX_PAT")
        errors = []
        for term in terms:
            errors += check_uuid("app_id", term)
        branch, revision, version = self.option("branch"), self.option("revision"), self.option("version")
        if revision is not None and branch is None:
            errors.append("revision needs branch: give the branch it was built from")
        elif branch is not None and revision is not None:
            errors += check_build(branch, revision, version)
        elif branch is not None and not branch.strip():
            errors.append("branch must not be empty")
        if version is not None and revision is None:
            errors.append("version needs branch and revision")
        if errors:
            raise AnsibleLookupError("; ".join(errors))
        client = Client(self.option("base_url"), token, validate_certs=self.option("validate_certs"),
                        ca_path=self.option("ca_path"), timeout=self.option("request_timeout"),
                        retries=self.option("retries"))
        results = []
        for app_id in terms:
            try:
                packages = client.list_packages(app_id.lower())
            except MendixApiError as exc:
                raise AnsibleLookupError(exc.message)
            build = None
            if revision is not None:
                build = dict(branch=branch, revision=revision, version=version,
                             vcs=resolve_vcs(self.option("vcs"), revision, packages))
            found = filter_packages(packages, self.option("file_name"), self.option("model_version"),
                                    self.option("model_version_prefix"), build=build,
                                    branch=branch if revision is None else None)
            if not found:
                if self.option("missing") == "error":
                    raise AnsibleLookupError("app %s has no package matching the filters" % app_id)
                results.append({})
                continue
            results.append(snake(found[0]))
        return results

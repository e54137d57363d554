#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_package_info
short_description: List Mendix for Private Cloud deployment packages, or get one with a download URL or its build log
version_added: 0.1.0
description:
  - Lists every deployment package of an app, paging through the Build API transparently, newest first by
    C(createdOn) whatever order the API lists them in. Paging follows the page size the server answers with, so a
    server that serves fewer packages per page than asked for still gives every package. While pages keep coming
    full, up to four are fetched at once, so a long list waits less on a distant API.
  - With O(branch) and O(revision), only the packages that are that build, by the same identity rules as
    M(mendix.private_cloud.mx_package) (see the idempotency guide).
  - With O(package_id), gets that package, optionally with a fresh time-limited download URL and its build log.
author:
  - mendix.private_cloud maintainers (@mendix-private-cloud)
extends_documentation_fragment:
  - mendix.private_cloud.attributes
  - mendix.private_cloud.connection
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  app_id:
    description:
      - The App ID (a UUID) shown in the Mendix Portal.
    type: str
    required: true
  package_id:
    description:
      - ID (a UUID) of one package to get. Without it, every package of the app is listed.
    type: str
  download_url:
    description:
      - With O(package_id), ask for a fresh download URL (valid for C(url.ttl) seconds, 15 minutes on Mendix).
    type: bool
    default: false
  build_log:
    description:
      - With O(package_id), include the package's build log.
    type: bool
    default: false
  file_name:
    description:
      - Only packages with this file name (C(.mda) appended when missing).
    type: str
  model_version:
    description:
      - Only packages with this model version, for example C(1.0.1.6f995268).
    type: str
  branch:
    description:
      - With O(revision), only the packages that are the build of this branch at that revision (and O(version)).
    type: str
  revision:
    description:
      - With O(branch), the revision of the build to find; an SVN revision number or a git commit hash (7 characters or more).
    type: str
  version:
    description:
      - With O(branch) and O(revision), the version of the build; C(1.0.0), the API's default, when not given.
    type: str
  vcs:
    description:
      - The app's version control system, as for M(mendix.private_cloud.mx_package); V(auto) tells it from the
        evidence, never from a revision being all digits.
    type: str
    choices: [auto, git, svn]
    default: auto
notes:
  - Needs a token with the scope C(mx:privatecloud-build:read) or C(mx:privatecloud-build:write).
  - A O(package_id) that does not exist gives an empty RV(packages) list, not a failure.
seealso:
  - module: mendix.private_cloud.mx_package
"""

EXAMPLES = r"""
- name: List every package of an app
  mendix.private_cloud.mx_package_info:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
  register: all_packages

- name: Get one package with a fresh download URL and its build log
  mendix.private_cloud.mx_package_info:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    package_id: "{{ all_packages.packages[0].id }}"
    download_url: true
    build_log: true
  register: one

- name: Download it
  ansible.builtin.get_url:
    url: "{{ one.packages[0].url.location }}"
    dest: /tmp/{{ one.packages[0].file_name }}
    mode: "0644"

- name: Find the package of a model version
  mendix.private_cloud.mx_package_info:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    model_version: 1.0.1.6f995268

- name: Find the build of main at a commit, version 1.0.1
  mendix.private_cloud.mx_package_info:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    branch: main
    revision: 6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4
    version: 1.0.1
"""

RETURN = r"""
packages:
  description: The packages, newest first, with snake_case keys.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Package ID.
      type: str
      returned: always
    app_id:
      description: App ID.
      type: str
      returned: always
    model_version:
      description: Model version.
      type: str
      returned: always
    runtime_version:
      description: Mendix runtime version.
      type: str
      returned: always
    created_on:
      description: When the package was created (ISO 8601).
      type: str
      returned: always
    description:
      description: Description.
      type: str
      returned: when set
    file_name:
      description: File name.
      type: str
      returned: always
    file_size:
      description: Size in bytes.
      type: int
      returned: always
    expiry_date:
      description: When the package expires (ISO 8601).
      type: str
      returned: when the API gives it
    url:
      description: Download URL and its lifetime in seconds (C(location), C(ttl)).
      type: dict
      returned: with O(download_url=true)
    build_log:
      description: The build log.
      type: str
      returned: with O(build_log=true)
"""

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._identity import filter_packages, resolve_vcs
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import (
    MendixModule,
    check_build,
    check_file_name,
    check_uuid,
    snake,
)


def main():
    module = MendixModule(
        argument_spec=dict(
            app_id=dict(type="str", required=True),
            package_id=dict(type="str"),
            download_url=dict(type="bool", default=False),
            build_log=dict(type="bool", default=False),
            file_name=dict(type="str"),
            model_version=dict(type="str"),
            branch=dict(type="str"),
            revision=dict(type="str"),
            version=dict(type="str"),
            vcs=dict(type="str", default="auto", choices=["auto", "git", "svn"]),
        ),
        supports_check_mode=True,
        required_together=[("branch", "revision")],
        required_by={"version": "branch"},
        required_if=[("download_url", True, ["package_id"]), ("build_log", True, ["package_id"])],
    )
    p = module.params
    errors = check_uuid("app_id", p["app_id"])
    if p["package_id"] is not None:
        errors += check_uuid("package_id", p["package_id"])
    errors += check_file_name(p["file_name"])
    if p["branch"] is not None:
        errors += check_build(p["branch"], p["revision"], p["version"])
    module.fail_on(errors, packages=[])
    module.check_connection_input()
    app_id = p["app_id"].lower()
    try:
        if p["package_id"]:
            package = module.client.get_package(app_id, p["package_id"].lower(), url=p["download_url"], log=p["build_log"],
                                                missing_ok=True)
            packages = [package] if package else []
        else:
            packages = module.client.list_packages(app_id)
    except MendixApiError as exc:
        module.fail_api(exc, packages=[])
    build = None
    if p["branch"] is not None:
        build = dict(branch=p["branch"], revision=p["revision"], version=p["version"],
                     vcs=resolve_vcs(p["vcs"], p["revision"], packages))
    packages = filter_packages(packages, p["file_name"], p["model_version"], build=build)
    module.exit_json(changed=False, packages=[snake(pkg) for pkg in packages])


if __name__ == "__main__":
    main()

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
  - Lists every deployment package of an app, paging through the Build API transparently, newest first. While
    pages keep coming full, up to four are fetched at once, so a long list waits less on a distant API.
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
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import (
    MendixModule,
    check_file_name,
    check_uuid,
    filter_packages,
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
        ),
        supports_check_mode=True,
    )
    p = module.params
    errors = check_uuid("app_id", p["app_id"])
    if p["package_id"] is not None:
        errors += check_uuid("package_id", p["package_id"])
    elif p["download_url"] or p["build_log"]:
        errors.append("download_url and build_log need package_id: they apply to one package")
    errors += check_file_name(p["file_name"])
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
    packages = filter_packages(packages, p["file_name"], p["model_version"])
    module.exit_json(changed=False, packages=[snake(pkg) for pkg in packages])


if __name__ == "__main__":
    main()

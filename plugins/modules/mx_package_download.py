#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_package_download
short_description: Download a Mendix for Private Cloud deployment package file
version_added: 0.2.0
description:
  - Downloads the C(.mda) file of a deployment package to the managed node, through a fresh time-limited download
    URL of the Build API v4.
  - Copies in 1 MiB blocks straight to disk, so memory use does not grow with the file. The file is written next to
    O(dest) under a temporary name and moved into place only when it is complete and has the package's size, so
    O(dest) is never left half-written.
  - A connection that breaks off is resumed from the bytes already received, and a download URL that expired
    meanwhile is asked for again, up to O(retries) times in all.
  - Idempotent. A file at O(dest) counts as downloaded only when it is known to be that package - a record written
    beside it with the download (a hidden file C(.<file name>.mendix-package.json) holding the package's id, its size
    and the file's SHA-256) says so and the file still matches it. Anything else at O(dest) - another package's file of
    the same size, a file from elsewhere, a file with no record - is replaced, atomically. O(force=true) downloads
    again in any case.
author:
  - mendix.private_cloud maintainers (@mendix-private-cloud)
extends_documentation_fragment:
  - ansible.builtin.files
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
      - ID (a UUID) of the package to download.
    type: str
    required: true
  dest:
    description:
      - Where to save the file on the managed node. When O(dest) is an existing directory, the file keeps the
        package's file name inside it.
      - The directory must exist.
    type: path
    required: true
  force:
    description:
      - Download even when O(dest) already holds the package.
    type: bool
    default: false
notes:
  - In check mode, a O(package_id) that is given but null (for example C(build.package_id) of a build that check mode
    only predicted, which has no package yet) is reported as the download a real run makes - V(changed), with RV(notes)
    saying so - and sends no request.
  - Needs a token with the scope C(mx:privatecloud-build:read) or C(mx:privatecloud-build:write).
  - The token is sent to the API only, never to the download URL; O(validate_certs), O(ca_path) and the proxy
    environment variables apply to both.
  - The Build API gives no checksum of a package; a download is checked against the package's size, and its SHA-256
    is recorded beside it so that a later run knows which package the file is.
seealso:
  - module: mendix.private_cloud.mx_package_info
  - module: mendix.private_cloud.mx_package
"""

EXAMPLES = r"""
- name: List the app's packages, newest first
  mendix.private_cloud.mx_package_info:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
  register: listed

- name: A folder for the packages
  ansible.builtin.file:
    path: /tmp/mendix-packages
    state: directory
    mode: "0755"

- name: Download the newest into that folder, keeping its file name (ok when the same file is there)
  mendix.private_cloud.mx_package_download:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    package_id: "{{ listed.packages[0].id }}"
    dest: /tmp/mendix-packages/
    mode: "0644"
  register: downloaded

- name: Show where it went
  ansible.builtin.debug:
    msg: "{{ downloaded.dest }} ({{ downloaded.size }} bytes)"
"""

RETURN = r"""
dest:
  description: Path of the downloaded file.
  returned: always
  type: str
  sample: /srv/packages/Main_1.0.0.6f995268.mda
size:
  description: Size of the package file in bytes.
  returned: when the package exists
  type: int
  sample: 52428800
package:
  description: The package, with snake_case keys (C(id), C(model_version), C(file_name), C(file_size) and so on).
  returned: when the package exists
  type: dict
elapsed:
  description: Seconds the download took; V(0) when nothing was downloaded.
  returned: always
  type: float
resumed:
  description: How many times a broken download was resumed (or its expired URL renewed).
  returned: always
  type: int
notes:
  description: Why nothing was downloaded in check mode (a null O(package_id)).
  returned: in check mode, when O(package_id) is null
  type: list
  elements: str
  version_added: 0.3.0
"""

import os
import time

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._download import (
    check_dest, holds, target_path, temporary_beside, write_record,
)
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_uuid, snake


def main():
    module = MendixModule(
        argument_spec=dict(
            app_id=dict(type="str", required=True),
            package_id=dict(type="str", required=True),
            dest=dict(type="path", required=True),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
        add_file_common_args=True,
    )
    p = module.params
    result = dict(changed=False, dest=p["dest"], elapsed=0.0, resumed=0)
    errors = check_uuid("app_id", p["app_id"]) + check_uuid("package_id", p["package_id"]) + check_dest(p["dest"])
    module.fail_on(errors, **result)
    module.check_connection_input()
    app_id, package_id = p["app_id"].lower(), p["package_id"].lower()
    try:
        package = module.client.get_package(app_id, package_id, missing_ok=True)
    except MendixApiError as exc:
        module.fail_api(exc, **result)
    if package is None:
        module.fail_json(msg="package_id %s: no such package in app %s; list them with mendix.private_cloud.mx_package_info"
                         % (package_id, app_id), **result)
    dest = result["dest"] = target_path(p["dest"], package.get("fileName") or "package.mda")
    size = package.get("fileSize")
    result.update(size=size, package=snake(package))
    present = os.path.isfile(dest) and size is not None and holds(dest, {"app_id": app_id, "package_id": package_id}, size)
    if not present or p["force"]:
        result["changed"] = True
        if not module.check_mode:
            download(module, app_id, package_id, dest, result)
    if os.path.exists(dest):
        file_args = module.load_file_common_arguments(p, path=dest)
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
    module.exit_json(**result)


def download(module, app_id, package_id, dest, result):
    """Download into a temporary file beside dest, then move it into place."""
    fd, tmp = temporary_beside(dest)
    started = time.monotonic()
    try:
        with os.fdopen(fd, "wb") as handle:
            package, result["resumed"] = module.client.download_package(app_id, package_id, handle)
    except MendixApiError as exc:
        os.unlink(tmp)
        module.fail_api(exc, **result)
    except (IOError, OSError) as exc:
        os.unlink(tmp)
        module.fail_json(msg="writing %s failed: %s" % (tmp, to_native(exc)), **result)
    result["elapsed"] = round(time.monotonic() - started, 3)
    result["package"] = snake(dict((k, v) for k, v in package.items() if k != "url"))
    module.atomic_move(tmp, dest)
    try:
        write_record(dest, {"app_id": app_id, "package_id": package_id})
    except (IOError, OSError) as exc:
        module.warn("%s was downloaded, but the record of which package it holds could not be written beside it (%s); "
                    "a later run downloads it again." % (dest, to_native(exc)))


if __name__ == "__main__":
    main()

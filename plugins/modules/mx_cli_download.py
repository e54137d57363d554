#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_cli_download
short_description: Download mxpc-cli, the Mendix for Private Cloud configuration tool
version_added: 0.3.0
description:
  - Downloads one build of mxpc-cli, the tool that installs and configures the Mendix Operator in a namespace.
    C(POST /cli/{version}) of the Deploy API answers with the URL of the file, which is then fetched without the token.
  - Idempotent. A file at O(dest) counts as downloaded only when it is known to be that version, system and
    architecture - a record written beside it (a hidden file C(.<file name>.mendix-cli.json)) names them and the file
    is the one recorded. Anything else - another version, a file from elsewhere, a file with no record - is replaced,
    atomically (downloaded beside O(dest), then moved into place). O(force=true) downloads again in any case.
  - The file is made executable (O(mode), V(0755) by default).
  - The token is sent to the Deploy API only, never to the download URL.
author:
  - mendix.private_cloud maintainers (@mendix-private-cloud)
extends_documentation_fragment:
  - ansible.builtin.files
  - mendix.private_cloud.attributes
  - mendix.private_cloud.connection
attributes:
  check_mode:
    support: full
    details: Says whether the file would be downloaded; downloads nothing.
  diff_mode:
    support: none
options:
  version:
    description:
      - The version of mxpc-cli (x.y.z). The newest the API lists when not given (one more C(GET /cli)).
    type: str
  os:
    description:
      - The operating system of the build.
    type: str
    choices: [linux, macos, windows]
    default: linux
  architecture:
    description:
      - The architecture of the build.
    type: str
    choices: [x86, arm]
    default: x86
  dest:
    description:
      - Where to put the file, on the controller. A directory gets the file C(mxpc-cli) (C(mxpc-cli.exe) for
        V(windows)) in it.
    type: path
    required: true
  mode:
    description:
      - The file's permissions (executable by default). The other file options (O(owner), O(group), ...) apply too.
    type: raw
    default: "0755"
  force:
    description:
      - Download even when O(dest) already holds that build.
    type: bool
    default: false
notes:
  - Needs a token with the scope C(mx:deployment:read) or C(mx:deployment:write).
  - The configuration tool runs against a real cluster (C(mxpc-cli installer ...)); see the guide "From an empty cluster
    to a running app".
seealso:
  - module: mendix.private_cloud.mx_cli_info
  - module: mendix.private_cloud.mx_namespace
"""

EXAMPLES = r"""
- name: The newest mxpc-cli, beside the playbook
  mendix.private_cloud.mx_cli_download:
    dest: "{{ playbook_dir }}"
  register: cli

- name: A given version for an arm machine
  mendix.private_cloud.mx_cli_download:
    version: 2.21.1
    os: linux
    architecture: arm
    dest: "{{ playbook_dir }}/mxpc-cli-arm"
"""

RETURN = r"""
dest:
  description: The file's path.
  returned: always
  type: str
version:
  description: The version of mxpc-cli at RV(dest).
  returned: always
  type: str
size:
  description: The file's size in bytes.
  returned: when the file exists
  type: int
sha256:
  description: The file's SHA-256.
  returned: when the file exists
  type: str
"""

import os

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._download import (
    check_dest, holds, sha256_of, target_path, temporary_beside, write_record,
)
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_version
from ansible_collections.mendix.private_cloud.plugins.module_utils._platform import cli_versions

KIND = "cli"


def main():
    module = MendixModule(
        argument_spec=dict(
            version=dict(type="str"),
            os=dict(type="str", default="linux", choices=["linux", "macos", "windows"]),
            architecture=dict(type="str", default="x86", choices=["x86", "arm"]),
            dest=dict(type="path", required=True),
            mode=dict(type="raw", default="0755"),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
        add_file_common_args=True,
    )
    p = module.params
    dest = target_path(p["dest"], "mxpc-cli.exe" if p["os"] == "windows" else "mxpc-cli")
    result = dict(changed=False, dest=dest, version=p["version"])
    errors = check_dest(p["dest"])
    if p["version"] is not None:
        errors += check_version("version", p["version"])
    module.fail_on(errors, **result)
    module.check_connection_input()
    client = module.client
    try:
        if p["version"] is None:
            listed = [v for v in cli_versions(client) if p["os"] in v["operating_systems"] and p["architecture"] in v["architectures"]]
            if not listed:
                module.fail_json(msg="GET /cli lists no version of mxpc-cli for os=%s and architecture=%s." % (p["os"], p["architecture"]),
                                 **result)
            result["version"] = listed[0]["cli_version"]
        identity = {"cli_version": result["version"], "os": p["os"], "architecture": p["architecture"]}
        if p["force"] or not (os.path.isfile(dest) and holds(dest, identity, kind=KIND)):
            result["changed"] = True
            if not module.check_mode:
                download(module, client, identity, dest, result)
    except MendixApiError as exc:
        module.fail_api(exc, **result)
    if os.path.exists(dest):
        file_args = module.load_file_common_arguments(p, path=dest)
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
        result.update(size=os.path.getsize(dest), sha256=sha256_of(dest))
    module.exit_json(**result)


def download(module, client, identity, dest, result):
    """Ask for the file's URL, fetch it beside dest without the token, move it into place, record what it is."""
    location = client.cli_location(identity["cli_version"], identity["os"], identity["architecture"])
    fd, tmp = temporary_beside(dest)
    try:
        with os.fdopen(fd, "wb") as handle:
            client.fetch_file(location, handle)
        if os.path.getsize(tmp) == 0:
            raise MendixApiError("GET %s gave an empty file" % location.split("?", 1)[0])
    except (MendixApiError, IOError, OSError) as exc:
        os.unlink(tmp)
        if isinstance(exc, MendixApiError):
            raise
        module.fail_json(msg="writing %s failed: %s" % (tmp, to_native(exc)), **result)
    module.atomic_move(tmp, dest)
    try:
        write_record(dest, identity, kind=KIND)
    except (IOError, OSError) as exc:
        module.warn("%s was downloaded, but the record of which version it holds could not be written beside it (%s); "
                    "a later run downloads it again." % (dest, to_native(exc)))


if __name__ == "__main__":
    main()

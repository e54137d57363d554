#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_package
short_description: Build, upload or delete a Mendix for Private Cloud deployment package
version_added: 0.1.0
description:
  - Builds a deployment package (C(.mda)) from a branch and revision of an app's Team Server repository,
    uploads an C(.mda) file, or deletes a package, through the Mendix for Private Cloud Build API v4.
  - Idempotent. A build is present when a package's C(modelVersion) is the one the build would produce,
    C(<version>.<revision>) for SVN and C(<version>.<first 8 characters of the commit hash>) for git; without
    O(version), the revision part alone decides. An upload is present when a package with the same file name
    (after C(.mda) is appended) and the same size exists. Deleting a package that does not exist is V(ok).
  - When the answer to a build or upload request is lost (connection reset, HTTP 5xx or a timeout after the
    request was sent), the request is never sent again blindly. The module watches the package list for the
    package it asked for until O(wait_timeout) and reports it when it appears; otherwise it fails, and a later run
    with the same options finds the package once it exists instead of building it twice.
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
  app_id:
    description:
      - The App ID (a UUID) shown in the Mendix Portal.
    type: str
    required: true
  state:
    description:
      - V(present) builds (with O(branch) and O(revision)) or uploads (with O(src)) a package unless it exists.
      - V(absent) deletes the package O(package_id).
    type: str
    choices: [present, absent]
    default: present
  branch:
    description:
      - Branch to build, 1 to 200 characters, case-sensitive. For SVN apps the main line is C(trunk), not C(Main line).
    type: str
  revision:
    description:
      - Revision to build, 1 to 50 characters; an SVN revision number or a git commit hash.
    type: str
  version:
    description:
      - Version of the package in C(x.y.z) format, at most 20 characters. The API uses C(1.0.0) when it is not given.
    type: str
  description:
    description:
      - Description of the built package.
    type: str
  src:
    description:
      - Path of an C(.mda) file to upload, on the controller. Relative paths are searched for as the
        M(ansible.builtin.copy) module does (the role's or playbook's C(files/) directory first).
      - The file is streamed from disk; its size does not matter to memory use.
    type: path
  file_name:
    description:
      - File name of the uploaded package. Defaults to the base name of O(src). The API appends C(.mda) when missing.
    type: str
  package_id:
    description:
      - ID (a UUID) of the package to delete, with O(state=absent).
    type: str
  force:
    description:
      - Build or upload even when a matching package exists.
    type: bool
    default: false
notes:
  - Building needs a token with the scopes C(mx:privatecloud-build:write) and C(mx:modelrepository:write); uploading and
    deleting need C(mx:privatecloud-build:write); checking what exists needs C(mx:privatecloud-build:read) or C(write).
  - All input is checked before any request is sent.
seealso:
  - module: mendix.private_cloud.mx_package_info
  - module: mendix.private_cloud.mx_job_wait
  - name: Build API reference
    description: Mendix for Private Cloud Build API documentation.
    link: https://docs.mendix.com/apidocs-mxsdk/apidocs/private-cloud-build-api/
"""

EXAMPLES = r"""
- name: Build branch main at a commit, waiting for the package
  mendix.private_cloud.mx_package:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    branch: main
    revision: 6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4
    version: 1.0.1
    description: Release 1.0.1
  register: build

- name: Show the new package id
  ansible.builtin.debug:
    msg: "{{ build.package_id }}"

- name: Start an SVN build without waiting, then wait for it separately
  mendix.private_cloud.mx_package:
    app_id: 7b3f1c2e-5d4a-4e8b-9c6f-0a1b2c3d4e5f
    branch: trunk
    revision: "623"
    version: 1.3.0
    wait: false
  register: started

- name: Wait for that job
  mendix.private_cloud.mx_job_wait:
    job_url: "{{ started.job.location }}"
  when: started.job is not none

- name: Upload an .mda file from the playbook's files/ folder
  mendix.private_cloud.mx_package:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    src: my-app_2.2.1.mda

- name: Delete a package
  mendix.private_cloud.mx_package:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    package_id: "{{ build.package_id }}"
    state: absent
"""

RETURN = r"""
package_id:
  description: ID of the package built, uploaded, found or deleted.
  returned: when a package is known
  type: str
  sample: 63e50976-34bf-4ce4-820b-9e5f106e5fa5
package:
  description: The package as the API describes it, with snake_case keys.
  returned: when a package is known
  type: dict
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
      description: Model version, C(<version>.<revision>).
      type: str
      returned: always
      sample: 1.0.1.6f995268
    runtime_version:
      description: Mendix runtime version.
      type: str
      returned: always
    created_on:
      description: When the package was created (ISO 8601).
      type: str
      returned: always
    description:
      description: Description of the package.
      type: str
      returned: when set
    file_name:
      description: File name of the package.
      type: str
      returned: always
      sample: main-1.0.1.6f995268.mda
    file_size:
      description: Size of the package file in bytes.
      type: int
      returned: always
    expiry_date:
      description: When the package expires (ISO 8601).
      type: str
      returned: when the API gives it
job:
  description:
    - The API job that carried out the change; with O(wait=false) the job as started, with C(location) to wait on.
  returned: when a job was started
  type: dict
  contains:
    id:
      description: Job ID.
      type: str
      returned: always
    status:
      description: C(created), C(running), C(finished) or C(failed).
      type: str
      returned: always
    details:
      description: What the job does.
      type: str
      returned: when the API gives it
    package_id:
      description: ID of the package a finished build or upload job produced.
      type: str
      returned: when finished
    location:
      description: URL of the job (the C(Location) header of the API's answer).
      type: str
      returned: when the API gives it
    elapsed:
      description: Seconds spent waiting.
      type: float
      returned: when waited
    polls:
      description: How many times the job was polled.
      type: int
      returned: when waited
reconciled:
  description:
    - V(true) when the answer to the build or upload request was lost and the package was found by watching the package list.
  returned: always
  type: bool
"""

import os

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._jobs import TRANSIENT_STATUSES, JobFailed, JobTimeout, Poller
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import (
    MendixModule,
    check_build,
    check_file_name,
    check_src,
    check_uuid,
    find_build,
    find_upload,
    mda_name,
    package_summary,
    snake,
)


def check_input(module):
    p = module.params
    errors = check_uuid("app_id", p["app_id"])
    build_opts = [k for k in ("branch", "revision", "version", "description") if p.get(k) is not None]
    upload_opts = [k for k in ("src", "file_name") if p.get(k) is not None]
    if p["state"] == "absent":
        errors += check_uuid("package_id", p.get("package_id"), "the UUID of the package to delete")
        extra = build_opts + upload_opts
        if extra:
            errors.append("state=absent takes package_id only; remove %s" % ", ".join(extra))
        return None, errors
    if p.get("package_id") is not None:
        errors.append("package_id is for state=absent; to build give branch and revision, to upload give src")
    if build_opts and upload_opts:
        errors.append("give either branch and revision (to build) or src (to upload), not both: remove %s or %s"
                      % (", ".join(build_opts), ", ".join(upload_opts)))
        return None, errors
    if upload_opts:
        errors += check_src(p.get("src"))
        errors += check_file_name(p.get("file_name"))
        return "upload", errors
    if not build_opts:
        errors.append("state=present needs branch and revision (to build a package) or src (to upload one)")
        return None, errors
    errors += check_build(p.get("branch"), p.get("revision"), p.get("version"))
    return "build", errors


def main():
    module = MendixModule(
        argument_spec=dict(
            app_id=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            branch=dict(type="str"),
            revision=dict(type="str"),
            version=dict(type="str"),
            description=dict(type="str"),
            src=dict(type="path"),
            file_name=dict(type="str"),
            package_id=dict(type="str"),
            force=dict(type="bool", default=False),
        ),
        wait=True,
        supports_check_mode=True,
    )
    p = module.params
    mode, errors = check_input(module)
    errors += module.wait_errors()
    module.fail_on(errors, changed=False)
    module.check_connection_input()
    app_id = p["app_id"].lower()
    try:
        if p["state"] == "absent":
            delete(module, app_id)
        else:
            present(module, app_id, mode)
    except (MendixApiError, JobFailed, JobTimeout) as exc:
        module.fail_api(exc, changed=False)


def present(module, app_id, mode):
    p = module.params
    if mode == "build":
        wanted = {"model_version": "%s.%s" % (p["version"] or "*", p["revision"]), "branch": p["branch"]}

        def find(packages, exclude=()):
            return find_build(packages, p["version"], p["revision"], exclude)
    else:
        file_name = mda_name(p["file_name"] or os.path.basename(p["src"]))
        file_size = os.path.getsize(p["src"])
        wanted = {"file_name": file_name, "file_size": file_size}

        def find(packages, exclude=()):
            return find_upload(packages, file_name, file_size, exclude)

    client = module.client
    packages = client.list_packages(app_id)
    existing = find(packages)
    diff = {"before": package_summary(existing), "after": package_summary(existing) or dict(wanted)}
    if existing and not p["force"]:
        module.exit_json(changed=False, package=snake(existing), package_id=existing["id"], reconciled=False, diff=diff)
    if existing:
        diff["after"] = dict(wanted)
    if module.check_mode:
        module.exit_json(changed=True, reconciled=False, diff=diff)

    before_ids = set(pkg["id"] for pkg in packages)
    try:
        if mode == "build":
            job = client.start_build(app_id, p["branch"], p["revision"], p["version"], p["description"])
        else:
            job = client.start_upload(app_id, p["src"], p["file_name"] or os.path.basename(p["src"]))
    except MendixApiError as exc:
        if not exc.uncertain:
            raise
        reconcile(module, app_id, mode, find, before_ids, exc, diff)
        return

    if not p["wait"]:
        module.exit_json(changed=True, job=snake(job), reconciled=False, diff=diff)
    result = module.waiter().wait(job["id"])
    job_result = finished_job(job, result)
    package = client.get_package(app_id, result["package_id"])
    diff["after"] = package_summary(package)
    module.exit_json(changed=True, package=snake(package), package_id=package["id"], job=job_result, reconciled=False, diff=diff)


def finished_job(started, result):
    job = snake(result["job"]) or {}
    job["location"] = started.get("location")
    job["elapsed"] = result["elapsed"]
    job["polls"] = result["polls"]
    return job


def reconcile(module, app_id, mode, find, before_ids, exc, diff):
    """The write's answer was lost: watch the package list for the new package instead of sending it again."""
    p = module.params
    client = module.client
    what = "build" if mode == "build" else "upload"
    module.warn("The answer to the %s request was lost (%s); watching the package list for the package instead of "
                "sending the request again." % (what, exc.message))

    def probe():
        try:
            return find(client.list_packages(app_id), exclude=before_ids)
        except MendixApiError as err:
            if err.status in TRANSIENT_STATUSES:
                return None
            raise

    poller = Poller(p["wait_timeout"], 1.0, p["wait_max_interval"])
    package, timed_out = poller.run(probe)
    if timed_out:
        module.fail_json(
            changed=False, reconciled=False,
            msg="The answer to the %s request was lost (%s) and no new matching package appeared within wait_timeout=%ss. "
                "The request was not sent again, so that no duplicate is made. If the API accepted it, the package appears "
                "when the %s ends, and a re-run of this task then finds it and reports it without building or uploading "
                "again; if not, the re-run sends the request once." % (what, exc.message, p["wait_timeout"], what))
    diff["after"] = package_summary(package)
    module.exit_json(changed=True, package=snake(package), package_id=package["id"], reconciled=True,
                     job={"elapsed": round(poller.elapsed(), 3), "polls": poller.polls, "package_id": package["id"]}, diff=diff)


def delete(module, app_id):
    p = module.params
    package_id = p["package_id"].lower()
    client = module.client
    package = client.get_package(app_id, package_id, missing_ok=True)
    diff = {"before": package_summary(package), "after": {}}
    if package is None:
        module.exit_json(changed=False, reconciled=False, diff=diff)
    if module.check_mode:
        module.exit_json(changed=True, package=snake(package), package_id=package_id, reconciled=False, diff=diff)
    try:
        job = client.start_delete(app_id, package_id)
    except MendixApiError as exc:
        if exc.status == 404:
            module.exit_json(changed=False, reconciled=False, diff={"before": {}, "after": {}})
        raise
    if not p["wait"]:
        module.exit_json(changed=True, package=snake(package), package_id=package_id, job=snake(job), reconciled=False, diff=diff)
    result = module.waiter().wait(job["id"])
    module.exit_json(changed=True, package=snake(package), package_id=package_id, job=finished_job(job, result),
                     reconciled=False, diff=diff)


if __name__ == "__main__":
    main()

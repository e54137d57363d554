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
  - Idempotent, by the package identity rules of the collection (see the idempotency guide). A build is
    (O(branch), O(revision), O(version)); without O(version) it is the API's default C(1.0.0). A package is that
    build when the marker this module writes into the package description names the same branch, revision and
    version, or, for packages without a marker, when both its C(modelVersion) (C(<version>.<revision>) for SVN,
    C(<version>.<first 8 characters of the hash>) for git) and its C(fileName) (C(<branch>-<modelVersion>.mda),
    C(MainLine) for the SVN trunk) say so. A package whose model version fits but that nothing ties to the
    branch is never taken as the match; the module builds and warns why.
  - Without O(revision), the head of O(branch) is built - its latest commit, asked of the App Repository API at
    O(repository_url) first (also in check mode). The revision it resolved to is in RV(resolved_revision) and in the
    diff, and from then on the task is that build; a re-run while the head has not moved is V(ok).
  - An upload is identified by its content. The stored file name is the file name given (or the base name of
    O(src)) with C(.sha256-<first 16 hex digits of the file's SHA-256>) inserted before C(.mda), so a re-run with
    the same file finds it without downloading anything, and another file with the same name and size is uploaded.
  - A build or upload that another task on the same controller has started and that is still running is waited
    on, not started again (see O(job_journal_dir)). Deleting a package that does not exist is V(ok).
  - The job journal is an intent log. Before a build or upload is sent, an entry says so (with a deadline, the
    sending task's O(wait_timeout)); it is completed with the job id once the API accepts the request.
  - When the answer to a build or upload request is lost (a connection broken after the request was sent, HTTP 502,
    504 or 500, a timeout), the request is never sent again blindly. The module watches the package list for the
    package it asked for until O(wait_timeout) and reports it when it appears; otherwise it fails, and the entry
    stays. A later run (or a run after a task killed between sending and recording) that finds the entry watches the
    package list until the entry's deadline before it may send the request again, so a quick re-run never builds
    twice. The deadline is kept on the monotonic clock of the boot that wrote it (a wall-clock jump does not move
    it); after a reboot the wall clock decides.
  - A build or upload answered HTTP 429 (RFC 6585, a rate limit) or 503 (RFC 9110, the server cannot handle the
    request now) was not carried out. The module looks for the package, waits as C(Retry-After) says (at most 60
    seconds, and within the task's time; a longer C(Retry-After) fails the task at once, saying so), looks again,
    and sends the request again, at most O(retries) times. This trusts the API, or a gateway, to answer 429 and
    503 only for requests it did not carry out; a proxy that answers 429 or 503 after forwarding the request can
    make a second package.
  - Once the API has accepted a build, upload or delete, the result says C(changed=true) whatever follows (a
    failed job, a wait that timed out, a lost connection while waiting), and RV(job) says which job it was.
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
    details: Predicts the result without any write request, the model version of a new build included.
  diff_mode:
    support: full
options:
  app_id:
    description:
      - The App ID (a UUID) shown in the Mendix Portal.
      - Required, unless O(builds) is given.
    type: str
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
      - Revision to build, 1 to 50 characters; an SVN revision number or a git commit hash (full, or 7 characters or more).
      - Without it, the branch's latest commit (its head), found through the App Repository API; the token then also
        needs the scope C(mx:modelrepository:repo:read). For an SVN branch other than C(trunk), the App Repository API's
        name of the branch is C(branches/<branch>); the module maps it (see M(mendix.private_cloud.mx_branch_info)).
    type: str
  version:
    description:
      - Version of the package in C(x.y.z) format, at most 20 characters. The API uses C(1.0.0) when it is not given,
        and so does the identity of the build.
    type: str
  description:
    description:
      - Description of the built package. The module appends its identity marker after it unless O(identity_marker=false).
    type: str
  vcs:
    description:
      - The version control system of the app, for telling which existing package a revision names.
      - V(auto) knows it from a revision that has a letter (git), or from the app's package history (a documented
        git model version with a letter in its hash part, or an SVN C(MainLine-) package). A revision made of digits
        alone proves nothing; where nothing else tells, only equal revisions match.
      - Set V(git) for a git app whose commit hashes may be all digits and whose packages carry no marker.
    type: str
    choices: [auto, git, svn]
    default: auto
  identity_marker:
    description:
      - 'Whether to write the identity marker into the description of a build,
        C([mendix.private_cloud: branch="main" revision="6f995268" version="1.0.1"]) after the user''s own text,
        and the content tag C(.sha256-<16 hex digits>) into the stored name of an upload.'
      - With V(false), builds are matched on the documented C(modelVersion) and C(fileName) formats only, and
        uploads on the file name and size only (a different file with the same name and size is then taken as the same).
    type: bool
    default: true
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
      - Build or upload even when a matching package exists or a matching job is running.
    type: bool
    default: false
  builds:
    description:
      - Many builds or uploads in one task (a fleet), each found, started and waited on as one task with O(app_id)
        would be, with the same identity, journal and lock rules, all at once in this one process and within one bound,
        O(wait_timeout) plus one O(request_timeout) for the whole task.
      - Items that ask for the same thing (the same app, branch, revision, version, description and version control,
        or the same file) share one build; the first of them reports it, the others report C(joined_job=true) in their RV(builds) item.
      - The options O(vcs), O(identity_marker), O(force), O(wait), O(wait_timeout), O(wait_max_interval),
        O(job_journal_dir) and the connection options apply to every item.
      - Every item is checked before any request is sent; one item's bad value fails the task with nothing sent.
      - An empty string in an item is a value left out (so that a template can give every key).
      - The role C(mendix.private_cloud.build_and_deploy) uses this to build for all hosts of a play in one task.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - A name for the item, unique in the list, that its result carries (the role uses the host's name).
        type: str
        required: true
      app_id:
        description:
          - The App ID (a UUID).
        type: str
        required: true
      branch:
        description:
          - Branch to build, as O(branch).
        type: str
      revision:
        description:
          - Revision to build, as O(revision); without it, the head of the branch.
        type: str
      version:
        description:
          - Version of the package, as O(version).
        type: str
      description:
        description:
          - Description of the built package, as O(description).
        type: str
      vcs:
        description:
          - The version control system of the app, as O(vcs); the task's O(vcs) when not given.
        type: str
        choices: [auto, git, svn]
      src:
        description:
          - Path of an C(.mda) file to upload, on the controller, as O(src).
        type: path
      file_name:
        description:
          - File name of the uploaded package, as O(file_name).
        type: str
  fail_on_build_error:
    description:
      - With O(builds), whether the task fails when one of its builds fails (after every build has ended).
      - With V(false), the task fails only on bad input; each failed build says so in its own RV(builds) item
        (C(failed) and C(msg)), so that a play can fail just the hosts of that build (as the role does).
    type: bool
    default: true
notes:
  - Building needs a token with the scopes C(mx:privatecloud-build:write) and C(mx:modelrepository:write); uploading and
    deleting need C(mx:privatecloud-build:write); checking what exists needs C(mx:privatecloud-build:read) or C(write).
  - All input is checked before any request is sent.
  - The Build API lists no running jobs and takes no idempotency key. The journal therefore covers one controller
    (or several sharing O(job_journal_dir)); two controllers that start the same build at the same moment each start one.
  - Runs on the controller like every module of this collection (C(delegate_to=localhost) in a play over other hosts).
    With O(src), the action plugin always runs the module on the controller, where the file is, whatever host the task
    targets; the file is never copied to that host.
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

- name: Build the head of main (a nightly schedule); ok while main has not moved
  mendix.private_cloud.mx_package:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    branch: main
    version: 1.1.0
  delegate_to: localhost
  register: nightly

- name: Show the commit that was built
  ansible.builtin.debug:
    msg: "{{ nightly.resolved_revision }}"

- name: Start an SVN build without waiting, then wait for it separately
  mendix.private_cloud.mx_package:
    app_id: 7b3f1c2e-5d4a-4e8b-9c6f-0a1b2c3d4e5f
    branch: trunk
    revision: "623"
    version: 1.3.0
    wait: false
  register: started

- name: Wait for that job (job is null when the package existed already)
  mendix.private_cloud.mx_job_wait:
    job_url: "{{ started.job.location }}"
  when: started.job is not none

- name: Upload an .mda file from the playbook's files/ folder
  mendix.private_cloud.mx_package:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    src: my-app_2.2.1.mda

- name: Build two apps at once, one deadline for all
  mendix.private_cloud.mx_package:
    builds:
      - name: orders
        app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
        branch: main
        revision: 6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4
        version: 1.0.1
      - name: billing
        app_id: 7b3f1c2e-5d4a-4e8b-9c6f-0a1b2c3d4e5f
        branch: trunk
        revision: "623"
        version: 1.3.0
    wait_timeout: 1800
  register: fleet

- name: Show each app's package
  ansible.builtin.debug:
    msg: "{{ fleet.builds | items2dict(key_name='name', value_name='package_id') }}"

- name: Delete a package (ok when it is gone already)
  mendix.private_cloud.mx_package:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    package_id: 0f3c2a4e-8d1b-4c6e-9a7f-2b5d8e1c4a90
    state: absent
"""

RETURN = r"""
resolved_revision:
  description: The revision the head of O(branch) was when O(revision) was not given.
  returned: when O(revision) was not given for a build
  type: str
  sample: 6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4
resolved_from:
  description: Where RV(resolved_revision) comes from - C(branch) (the App Repository API's name of the branch),
    C(date) and C(message) of its latest commit.
  returned: when O(revision) was not given for a build
  type: dict
  sample: {"branch": "main", "date": "2026-11-01T09:00:00Z", "message": "Fix the login page"}
package_id:
  description: ID of the package built, uploaded, found or deleted.
  returned: always (null when no package is known, for example in check mode when a build would start)
  type: str
  sample: 63e50976-34bf-4ce4-820b-9e5f106e5fa5
model_version:
  description:
    - Model version of the package; in check mode, the model version a build would get, when it can be known - not
      for a git hash shorter than 8 characters (the 8th is the build's to tell), and, when the app's version control
      is not known, not for a digits-only revision of 7 or more than 8 digits (an SVN revision and a git hash give
      other model versions); RV(notes) then says why.
  returned: always (null when no package is known, for example in check mode when a build would start)
  type: str
  sample: 1.0.1.6f995268
notes:
  description: In check mode, why the model version a build would get is not known yet.
  returned: in check mode, when RV(model_version) cannot be known
  type: list
  elements: str
package:
  description: The package as the API describes it, with snake_case keys.
  returned: always (null when no package is known, for example in check mode when a build would start)
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
      description: Description of the package, with the identity marker at its end for builds of this module.
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
    - The API job of this task, or the running job of the same build it waited on (RV(joined_job)); V(null) when
      nothing was started, so the condition C(result.job is not none) works on every run.
    - V(null) with O(builds), whose items each have their own.
    - The same shape on success and on failure.
  returned: always
  type: dict
  contains:
    id:
      description: Job ID.
      type: str
      returned: always
    status:
      description: C(created), C(running), C(finished) or C(failed), as last seen.
      type: str
      returned: always
    details:
      description: What the job does.
      type: str
      returned: always
    location:
      description: URL of the job (the C(Location) header of the API's answer); V(null) when not known.
      type: str
      returned: always
    package_id:
      description: ID of the package a finished build or upload job produced.
      type: str
      returned: always
    error:
      description: The job's error object (C(code), C(message)) when it failed.
      type: dict
      returned: always
    elapsed:
      description: Seconds spent waiting; V(null) when not waited.
      type: float
      returned: always
    polls:
      description: How many times the job was polled; V(null) when not waited.
      type: int
      returned: always
    log_tail:
      description: The last lines of the build log of a failed build.
      type: str
      returned: always
joined_job:
  description: V(true) when the same build or upload was already running, started by another task on this controller, and this task waited on it.
  returned: always
  type: bool
reconciled:
  description:
    - V(true) when the answer to the build or upload request was lost and the package was found by watching the package list.
  returned: always
  type: bool
builds:
  description:
    - With O(builds), one item per item given, in the same order, each with the keys a task with O(app_id) returns
      for that build (RV(package_id), RV(package), RV(model_version), RV(job), RV(joined_job), RV(reconciled),
      RV(resolved_revision), RV(resolved_from), RV(notes)), and the keys below.
    - The task's own C(changed) is V(true) when any item's is.
  returned: when O(builds) is given
  type: list
  elements: dict
  contains:
    name:
      description: The item's O(builds[].name).
      type: str
      returned: always
    app_id:
      description: The item's O(builds[].app_id), in lower case.
      type: str
      returned: always
    changed:
      description: Whether this item started (or, in check mode, would start) a build or upload.
      type: bool
      returned: always
    failed:
      description: Whether this item's build failed.
      type: bool
      returned: always
    msg:
      description: Why the build failed.
      type: str
      returned: when RV(builds[].failed)
    warnings:
      description: The warnings of this item's build (also given as the task's warnings, with the item's name).
      type: list
      elements: str
      returned: always
by_name:
  description:
    - With O(builds), the same items as RV(builds), by their name, so that a host of a play can take its own with
      C(result.by_name[inventory_hostname]) at no cost per host.
  returned: when O(builds) is given
  type: dict
  sample: {"orders": {"name": "orders", "package_id": "63e50976-34bf-4ce4-820b-9e5f106e5fa5", "changed": true}}
"""

import os
import time
from ansible.module_utils.basic import env_fallback

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import BACKOFF_MAX, RETRY_AFTER_CAP, MendixApiError, make_retry
from ansible_collections.mendix.private_cloud.plugins.module_utils._fleet import Fleet, run_item
from ansible_collections.mendix.private_cloud.plugins.module_utils._identity import (
    DEFAULT_VERSION,
    described,
    file_digest,
    find_build,
    find_upload,
    model_version_unknown,
    predicted_model_version,
    resolve_vcs,
    untied_warning,
    upload_name,
)
from ansible_collections.mendix.private_cloud.plugins.module_utils._jobs import TERMINAL, TRANSIENT_STATUSES, JobFailed, JobTimeout, Poller
from ansible_collections.mendix.private_cloud.plugins.module_utils._journal import ENV_DIR, Journal, LockTimeout, identity_key
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import (
    MendixModule,
    check_build,
    check_file_name,
    check_src,
    check_uuid,
    job_report,
    package_summary,
    snake,
)


def check_input(module):
    """Values the argument spec cannot check (relations between options are in the spec)."""
    p = module.params
    if p.get("builds") is not None:
        if p["state"] == "absent":
            return None, ["builds builds or uploads many packages; it does not go with state=absent"]
        return "fleet", check_builds(p["builds"])
    errors = check_uuid("app_id", p["app_id"])
    if p["state"] == "absent":
        return None, errors + check_uuid("package_id", p.get("package_id"), "the UUID of the package to delete")
    if p.get("src") is not None:
        return "upload", errors + check_src(p["src"]) + check_file_name(p.get("file_name"))
    return "build", errors + check_build(p.get("branch"), p.get("revision"), p.get("version"), head_ok=True)


def check_builds(builds):
    """Every item of builds=, each error naming the item, before any request."""
    errors = []
    if not builds:
        return ["builds is empty: give one item per build or upload, or leave builds out and give app_id"]
    seen = set()
    for index, item in enumerate(builds):
        item.update((key, None) for key, value in list(item.items()) if value == "")
        where = "builds[%d]" % index + (" (%s)" % item["name"] if item.get("name") else "")
        own = []
        if not item.get("name"):
            own.append("name must not be empty: give each item a name unique in the list (the role uses the host's)")
        elif item["name"] in seen:
            own.append("name %s is given to another item too: give each item its own name" % item["name"])
        seen.add(item.get("name"))
        own += check_uuid("app_id", item["app_id"])
        if item.get("src") and item.get("branch"):
            own.append("give branch (to build) or src (to upload), not both")
        elif item.get("src"):
            extra = [k for k in ("revision", "version", "description") if item.get(k)]
            if extra:
                own.append("%s go with branch (a build), not with src (an upload)" % ", ".join(extra))
            own += check_src(item["src"]) + check_file_name(item.get("file_name"))
        elif item.get("branch"):
            if item.get("file_name"):
                own.append("file_name goes with src (an upload), not with branch")
            own += check_build(item["branch"], item.get("revision"), item.get("version"), head_ok=True)
        else:
            own.append("give branch (and revision, or none for the branch's head) to build, or src to upload")
        errors += ["%s: %s" % (where, error) for error in own]
    return errors


def main():
    module = MendixModule(
        argument_spec=dict(
            app_id=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            branch=dict(type="str"),
            revision=dict(type="str"),
            version=dict(type="str"),
            description=dict(type="str"),
            vcs=dict(type="str", default="auto", choices=["auto", "git", "svn"]),
            identity_marker=dict(type="bool", default=True),
            job_journal_dir=dict(type="path", fallback=(env_fallback, [ENV_DIR])),
            src=dict(type="path"),
            file_name=dict(type="str"),
            package_id=dict(type="str"),
            force=dict(type="bool", default=False),
            builds=dict(type="list", elements="dict", options=dict(
                name=dict(type="str", required=True),
                app_id=dict(type="str", required=True),
                branch=dict(type="str"),
                revision=dict(type="str"),
                version=dict(type="str"),
                description=dict(type="str"),
                vcs=dict(type="str", choices=["auto", "git", "svn"]),
                src=dict(type="path"),
                file_name=dict(type="str"),
            )),
            fail_on_build_error=dict(type="bool", default=True),
        ),
        wait=True,
        supports_check_mode=True,
        required_one_of=[("app_id", "builds")],
        required_if=[("state", "absent", ["package_id"])],
        required_by={"version": "branch", "description": "branch", "revision": "branch", "file_name": "src"},
        mutually_exclusive=[("src", "branch"), ("src", "revision"), ("package_id", "branch"), ("package_id", "revision"),
                            ("package_id", "src"), ("builds", "app_id"), ("builds", "branch"), ("builds", "src"),
                            ("builds", "package_id")],
    )
    p = module.params
    if p["builds"] is None and p["state"] == "present" and p["branch"] is None and p["src"] is None:
        module.fail_json(msg="state is present but any of the following are missing: branch, src (or give builds)",
                         changed=False, job=None, reconciled=False, joined_job=False)
    mode, errors = check_input(module)
    errors += module.wait_errors()
    module.fail_on(errors, changed=False, job=None, reconciled=False, joined_job=False)
    if mode == "fleet":
        BuildFleet(module).run()
    module.check_connection_input()
    task = PackageTask(module, p["app_id"].lower())
    run_task(task, mode)


def run_task(task, mode):
    """One build, upload or delete to its end: the task exits (or fails) through its module."""
    try:
        if mode is None:
            task.delete()
        else:
            task.present(mode)
    except LockTimeout as exc:
        task.fail("%s; raise wait_timeout, or look for a task that hangs" % exc)
    except (MendixApiError, JobFailed, JobTimeout) as exc:
        task.fail_api(exc)


# a task with builds= has no package of its own: its items have theirs
TASK_KEYS = dict(job=None, reconciled=False, joined_job=False, package_id=None, package=None, model_version=None)


class BuildFleet(Fleet):
    """builds=: every distinct build or upload of the list at once, each as one task would make it."""

    OPTION, FAIL_OPTION, JOINED, TASK_KEYS = "builds", "fail_on_build_error", "joined_job", TASK_KEYS
    FIELDS = ("branch", "revision", "version", "description", "vcs", "src", "file_name")

    def key(self, item):
        return (item["app_id"].lower(),) + tuple(
            item.get(k) or (self.p["vcs"] if k == "vcs" else None) for k in self.FIELDS)

    def run_one(self, item):
        params = dict(self.p, builds=None, app_id=item["app_id"], state="present")
        for field in self.FIELDS:
            params[field] = item.get(field) or None
        params["vcs"] = item.get("vcs") or self.p["vcs"]
        mode = "upload" if params["src"] else "build"
        return run_item(self.module, params, lambda module: run_task(PackageTask(module, item["app_id"].lower()), mode),
                        changed=False, job=None, reconciled=False, joined_job=False)


class PackageTask(object):
    """One run of the module: what it found, what it started, and the one result shape."""

    def __init__(self, module, app_id):
        self.module = module
        self.p = module.params
        self.client = module.client
        self.app_id = app_id
        self.started = None  # the job this task started, once the API accepted it
        # the documented keys, null until known: a check-mode build that would start has no package yet
        self.result = dict(changed=False, job=None, reconciled=False, joined_job=False, package_id=None, package=None,
                           model_version=None)

    # ------------------------------------------------------------------ results
    def exit(self, package=None, **result):
        self.result.update(result)
        if package is not None:
            self.result.update(package=snake(package), package_id=package["id"], model_version=package.get("modelVersion"))
        self.module.exit_json(**self.result)

    def fail(self, msg, **result):
        self.result.update(result)
        if self.started is not None:
            self.result["changed"] = True
            if self.result.get("job") is None:
                self.result["job"] = job_report(self.started)
        self.module.fail_json(msg=msg, **self.result)

    def fail_api(self, exc):
        job = None
        if isinstance(exc, (JobFailed, JobTimeout)):
            job = job_report(self.started, exc.result)
        if isinstance(exc, MendixApiError) and exc.status is not None:
            self.result["status_code"] = exc.status
        if isinstance(exc, MendixApiError) and exc.accepted:
            self.result["changed"] = True
        message = exc.message
        if isinstance(exc, JobTimeout) and self.p["state"] == "present":
            message += (". A re-run of this task on this controller waits on this job instead of starting another, "
                        "as long as the job journal (job_journal_dir) is kept")
        self.fail(message, job=job or self.result.get("job"))

    # ------------------------------------------------------------------ build and upload
    def present(self, mode):
        p = self.p
        if mode == "build":
            if not p["revision"]:
                self.resolve_head()
            want = Build(p)
        else:
            want = Upload(p)
        journal = Journal(p["job_journal_dir"])
        key = identity_key((self.client.base_url, self.app_id) + want.identity)
        with journal.lock(key, self.module.time_left(p["wait_timeout"])):
            packages = self.client.list_packages(self.app_id)
            want.learn(packages)
            existing, untied = want.find(packages)
            diff = {"before": package_summary(existing), "after": package_summary(existing) or want.summary()}
            if existing and not p["force"]:
                journal.drop(key)
                self.exit(existing, diff=diff)
            running, ended_with = (None, None) if p["force"] else self.running_job(journal, key, want)
            if ended_with is not None:  # the journal's job ended, with this package, since the list was read
                self.exit(ended_with, diff={"before": package_summary(ended_with), "after": package_summary(ended_with)})
            if running is None:
                if existing:
                    diff["after"] = want.summary()
                if untied:
                    self.module.warn(want.untied_warning(untied))
                if mode == "build" and "resolved_revision" not in self.result:
                    self.check_revision()
                if self.module.check_mode:
                    extra = {}
                    unknown = want.model_version_unknown()
                    if unknown:
                        extra["notes"] = ["The model version the build will get is not known yet: %s." % unknown]
                    self.exit(changed=True, diff=diff, model_version=diff["after"].get("model_version"), **extra)
                job = self.send(want, packages, diff, journal, key)
                self.started = job
                self.result["changed"] = True
                self.result["job"] = job_report(job)
                journal.put(key, {"job_id": job["id"], "location": job.get("location"), "what": want.what})
        if running is not None:
            self.result.update(joined_job=True, job=job_report(running))
            if self.module.check_mode or not p["wait"]:
                self.exit(diff=diff)
            self.finish(journal, key, running, diff)
        if not p["wait"]:
            self.exit(diff=diff)
        self.finish(journal, key, self.started, diff)

    def send(self, want, packages, diff, journal, key):
        """Send the build or upload, an intent written before it; returns the accepted job.

        A refusal (429 or 503: not carried out) is answered by looking for the package, honouring Retry-After within
        the task's time and the cap, and sending again, at most ``retries`` times. A lost or uncertain answer (502,
        504, a connection broken after sending) is never sent again: the package list is watched instead, and the
        intent stays in the journal, so that a re-run watches too until the intent's deadline."""
        p = self.p
        before_ids = set(pkg["id"] for pkg in packages)
        refusals = 0
        while True:
            journal.put_intent(key, want.what, p["wait_timeout"])
            try:
                return want.start(self.client, self.app_id)
            except MendixApiError as exc:
                if exc.uncertain:
                    self.reconcile(want, before_ids, exc, diff, journal, key)
                journal.drop(key)
                if not exc.refused:
                    raise
                refusals += 1
                self.refused(want, exc, refusals, before_ids, diff, journal, key)

    def refused(self, want, exc, refusals, before_ids, diff, journal, key):
        """After a refusal: fail when no try or time is left or Retry-After is over the cap; else look for the package,
        wait as asked, and look again (a package that appeared meanwhile is reported, not built again)."""
        p = self.p
        pause = exc.retry_after if exc.retry_after is not None else min(BACKOFF_MAX, 2.0 ** refusals)
        left = self.module.time_left(p["wait_timeout"])
        why = None
        if refusals > p["retries"]:
            why = "it was refused %d times, more than retries=%d" % (refusals, p["retries"])
        elif exc.retry_after is not None and exc.retry_after > RETRY_AFTER_CAP:
            why = ("the API asked to wait %s seconds (Retry-After), longer than the %s seconds this collection waits at "
                   "the most" % ("%g" % round(exc.retry_after, 1), RETRY_AFTER_CAP))
        elif pause >= left:
            why = "the pause asked for (%g seconds) is longer than the task's time left (%g seconds)" % (
                round(pause, 1), round(left, 1))
        if why:
            self.fail("The %s request was not taken by the API (%s), and it is not sent again: %s. Nothing was %s; run "
                      "the task again later." % (want.what, exc.message, why, "built" if want.what == "build" else "uploaded"),
                      status_code=exc.status)
        self.module.warn("The %s request was not taken (HTTP %s); looking for the package, then sending it again after "
                         "%s seconds." % (want.what, exc.status, round(pause, 1)))
        for wait in (0, pause):
            time.sleep(wait)
            found = want.find(self.client.list_packages(self.app_id), exclude=before_ids)[0]
            if found is not None:
                diff["after"] = package_summary(found)
                self.exit(found, changed=True, reconciled=True, diff=diff)

    def await_intent(self, entry, want, journal, key):
        """An earlier task's intent: it sent the request and its answer was lost, or it was killed before it recorded
        the job. Watch the package list until the intent's deadline; (None, package) when the package appears, (None,
        None) when the deadline passed (the request may be sent again). Fails when this task's time ends first."""
        p = self.p
        left = journal.intent_left(entry)
        if left <= 0:
            journal.drop(key)
            return None, None
        own = self.module.time_left(p["wait_timeout"])
        self.module.warn("An earlier task sent this %s request and did not record its answer (lost, or the task was "
                         "stopped); watching the package list for the package for up to %d seconds before sending it "
                         "again." % (want.what, round(min(left, own))))

        def probe():
            try:
                return want.find(self.client.list_packages(self.app_id))[0]
            except MendixApiError as err:
                if err.status in TRANSIENT_STATUSES:
                    return None
                raise

        poller = Poller(min(left, own), 1.0, p["wait_max_interval"])
        package, timed_out = poller.run(probe)
        if package is not None:
            journal.drop(key)
            return None, package
        if own < left:
            self.fail("An earlier task sent this %s request and its answer was not recorded; the package did not appear "
                      "within this task's wait_timeout=%ss, and the request is not sent again before %d more seconds "
                      "have passed (the earlier task's wait bound), so that no duplicate is made. Run the task again "
                      "then, or with force=true to send it now." % (want.what, p["wait_timeout"], round(left - own)))
        journal.drop(key)
        return None, None

    def check_revision(self):
        """Before a build is sent: refuse a revision that the App Repository API shows is not a commit of the branch;
        when it cannot tell (no scope, another error, a history longer than it reads), say the check was skipped."""
        p = self.p
        vcs = None if p["vcs"] == "auto" else p["vcs"]
        repository = self.module.repository
        saved, repository.retry = repository.retry, make_retry(0, repository.backoff_factor)
        found, name, error = None, None, None
        try:  # a check the build makes anyway: no retry and no Retry-After pause, so that it never costs the task's time
            found, name = repository.find_commit(self.app_id, p["branch"], vcs, p["revision"])
        except MendixApiError as exc:
            error = exc
        finally:
            repository.retry = saved
        if error is not None and error.status == 404:
            self.fail("Not built: %s" % error.message, status_code=404)
        if error is not None:
            self.module.warn("Could not check that revision %s is a commit of branch %s before building, so the check "
                             "was skipped (%s); the build checks it." % (p["revision"], p["branch"], error.message))
        elif found is False:
            self.fail("Not built: revision %s is not a commit of branch %s (the App Repository API lists the branch's "
                      "whole history as %s without it). Give a commit of the branch, or leave revision out to build its "
                      "head." % (p["revision"], p["branch"], name))
        elif found is None:
            self.module.warn("Could not check that revision %s is a commit of branch %s before building: it is not among "
                             "the branch's newest 1000 commits; the build checks it." % (p["revision"], p["branch"]))

    def resolve_head(self):
        """The branch's latest commit becomes the revision to build (the App Repository API; one request as a rule)."""
        p = self.p
        vcs = None if p["vcs"] == "auto" else p["vcs"]
        vcs, name, commit = self.module.repository.head(self.app_id, p["branch"], vcs)
        if vcs and p["vcs"] == "auto":
            p["vcs"] = vcs  # the repository said which; the identity rules need not guess
        p["revision"] = str(commit["id"])
        self.result.update(resolved_revision=p["revision"],
                           resolved_from=dict(branch=name, date=commit.get("date"), message=commit.get("message")))

    def running_job(self, journal, key, want):
        """(job, None) for the journal's unfinished job of this identity, (None, package) when that job has just ended
        with the package, else (None, None)."""
        entry = journal.get(key)
        if entry is None:
            return None, None
        if not entry.get("job_id"):
            return self.await_intent(entry, want, journal, key)
        try:
            job = self.client.get_job(entry["job_id"])
        except MendixApiError as exc:
            if exc.status in TRANSIENT_STATUSES:  # cannot tell now: take it as running, the wait will see
                return {"id": entry["job_id"], "status": "running", "location": entry.get("location")}, None
            journal.drop(key)
            return None, None
        job = dict(job, location=entry.get("location"))
        if job.get("status") not in TERMINAL and not job.get("error"):
            return job, None
        journal.drop(key)
        if job.get("status") == "finished" and job.get("packageId"):
            package = self.client.get_package(self.app_id, job["packageId"], missing_ok=True)
            if package is not None and want.find([package])[0] is not None:
                return None, package
        return None, None

    def finish(self, journal, key, job, diff):
        """Wait for a build or upload job, then report its package."""
        try:
            result = self.module.waiter().wait(job["id"])
        except JobFailed:
            journal.drop(key)
            raise
        journal.drop(key)
        report = job_report(job, result)
        self.result["job"] = report
        if not report["package_id"]:
            self.fail("job %s finished but names no packageId; the package may still appear: list the packages with "
                      "mendix.private_cloud.mx_package_info before running this task again" % job["id"])
        package = self.client.get_package(self.app_id, report["package_id"])
        diff["after"] = package_summary(package)
        self.exit(package, diff=diff)

    def reconcile(self, want, before_ids, exc, diff, journal, key):
        """The write's answer was lost: watch the package list for the new package instead of sending it again. The
        intent stays in the journal when the package does not appear, so that a re-run watches too."""
        p = self.p
        self.module.warn("The answer to the %s request was lost (%s); watching the package list for the package instead of "
                         "sending the request again." % (want.what, exc.message))

        def probe():
            try:
                return want.find(self.client.list_packages(self.app_id), exclude=before_ids)[0]
            except MendixApiError as err:
                if err.status in TRANSIENT_STATUSES:
                    return None
                raise

        poller = Poller(self.module.time_left(p["wait_timeout"]), 1.0, p["wait_max_interval"])
        package, timed_out = poller.run(probe)
        if not timed_out:
            journal.drop(key)
        if timed_out:
            self.fail("The answer to the %s request was lost (%s) and no new matching package appeared within "
                      "wait_timeout=%ss. The request was not sent again, so that no duplicate is made. If the API accepted "
                      "it, the package appears when the %s ends, and a re-run of this task then finds it and reports it "
                      "without building or uploading again; if not, the re-run sends the request once."
                      % (want.what, exc.message, p["wait_timeout"], want.what))
        diff["after"] = package_summary(package)
        self.exit(package, changed=True, reconciled=True, diff=diff,
                  job=dict(job_report(), status="finished", package_id=package["id"], elapsed=round(poller.elapsed(), 3),
                           polls=poller.polls))

    # ------------------------------------------------------------------ delete
    def delete(self):
        p = self.p
        package_id = p["package_id"].lower()
        package = self.client.get_package(self.app_id, package_id, missing_ok=True)
        diff = {"before": package_summary(package), "after": {}}
        if package is None:
            self.exit(diff=diff)
        if self.module.check_mode:
            self.exit(package, changed=True, diff=diff)
        try:
            job = self.client.start_delete(self.app_id, package_id)
        except MendixApiError as exc:
            if exc.status == 404:
                self.exit(diff={"before": {}, "after": {}})
            raise
        self.started = job
        self.result.update(changed=True, job=job_report(job))
        if not p["wait"]:
            self.exit(package, diff=diff)
        result = self.module.waiter().wait(job["id"])
        self.exit(package, job=job_report(job, result), diff=diff)


class Build(object):
    """What a build task asks for, and how it is found."""

    what = "build"

    def __init__(self, p):
        self.p = p
        self.version = p["version"] or DEFAULT_VERSION
        self.identity = ("build", p["branch"], p["revision"], self.version)
        self.vcs = None

    def learn(self, packages):
        self.vcs = resolve_vcs(self.p["vcs"], self.p["revision"], packages)

    def find(self, packages, exclude=()):
        return find_build(packages, self.p["branch"], self.p["revision"], self.version, self.vcs, exclude)

    def summary(self):
        out = {"branch": self.p["branch"], "revision": self.p["revision"], "version": self.version}
        predicted = predicted_model_version(self.version, self.p["revision"], self.vcs)
        if predicted:
            out["model_version"] = predicted
        return out

    def untied_warning(self, untied):
        return untied_warning(untied, self.p["branch"], self.p["revision"], self.version)

    def model_version_unknown(self):
        return model_version_unknown(self.p["revision"], self.vcs)

    def start(self, client, app_id):
        p = self.p
        description = p["description"]
        if p["identity_marker"]:
            description = described(description, p["branch"], p["revision"], self.version)
        return client.start_build(app_id, p["branch"], p["revision"], p["version"], description)


class Upload(object):
    """What an upload task asks for, and how it is found: the file's content, in its stored name."""

    what = "upload"

    def __init__(self, p):
        self.p = p
        self.src = p["src"]
        self.size = os.path.getsize(self.src)
        digest = file_digest(self.src) if p["identity_marker"] else None
        self.stored_name = upload_name(p["file_name"] or os.path.basename(self.src), digest)
        self.identity = ("upload", self.stored_name, str(self.size))

    def learn(self, packages):
        pass

    def find(self, packages, exclude=()):
        return find_upload(packages, self.stored_name, self.size, exclude), []

    def summary(self):
        return {"file_name": self.stored_name, "file_size": self.size}

    def untied_warning(self, untied):
        return ""

    def start(self, client, app_id):
        return client.start_upload(app_id, self.src, self.stored_name)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_package_prune
short_description: Delete an app's old Mendix for Private Cloud deployment packages, keeping the newest and the deployed
version_added: 0.2.0
description:
  - Lists every package of an app, decides which to keep and which to delete, and deletes those through the Build
    API, several at a time, waiting for each delete job.
  - O(keep) keeps the newest packages of each branch (by C(createdOn)); O(older_than) deletes only packages older than
    a duration; O(keep_deployed) keeps every package an environment of the app runs; O(keep_ids) keeps named packages.
  - A package's branch is read from the marker M(mendix.private_cloud.mx_package) adds to the description of the
    builds it starts, else from the documented file name C(<branch>-<modelVersion>.mda) (C(MainLine) is SVN's
    C(trunk)). A package whose branch cannot be told - an upload, or a build named in no documented format - is
    kept by O(keep), and deleted only when O(older_than) is given and it is older than that.
  - With both O(keep) and O(older_than), a package is deleted when it is beyond the newest O(keep) of its branch
    B(and) older than O(older_than).
  - Idempotent - a second run with the same options finds nothing more to delete. Check mode and diff mode list
    exactly the packages a real run would delete, without sending a delete.
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
  keep:
    description:
      - Keep the newest this many packages of each branch (0 or more). At least one of O(keep) and O(older_than) is
        required.
    type: int
  branches:
    description:
      - Prune only the packages of these branches (as their marker or documented name tells); every other package,
        uploads included, is kept.
    type: list
    elements: str
  older_than:
    description:
      - Delete only packages created longer ago than this - a whole number and a unit, V(s), V(m), V(h), V(d) or
        V(w), for example V(30d) or V(12h). A package whose C(createdOn) cannot be read is kept.
    type: str
  keep_deployed:
    description:
      - Never delete a package that an environment of the app runs (its manifest's C(deployment.packageId)), in any
        namespace. The environments are read through the Deploy API, so the token needs C(mx:deployment:read) (or
        C(mx:deployment:write)); when it cannot read them the task fails before deleting anything.
      - Also kept, for each environment - the package it ran before the last deploy that this collection made (the
        rollback target, from the record M(mendix.private_cloud.mx_deployment) writes in O(job_journal_dir) before
        it writes), the package that deploy wrote, and the package of an environment that is C(Processing).
      - An environment that a task of this controller is changing (it holds the environment's lock) is not waited
        for; what its record names is kept, and a warning names the environment.
      - The environments are read before the plan and again right before the deletes start; a package an
        environment runs by then is kept.
      - What it cannot see - deploys made by other tools (the Portal, Mendix Pipelines, another controller that
        shares no journal folder) record nothing, so the package such an environment ran before is not known; only
        what it runs now is kept.
    type: bool
    default: true
  keep_ids:
    description:
      - IDs of packages never to delete.
    type: list
    elements: str
    default: []
  parallel:
    description:
      - How many delete jobs run at once (1 to 20).
    type: int
    default: 4
notes:
  - The whole task ends within O(wait_timeout) plus one O(request_timeout). Delete jobs not finished by then are
    reported in RV(jobs); a re-run deletes what is left.
  - With O(wait=false) the deletes are started and not waited for; RV(deleted) then lists the packages whose delete
    job was accepted.
  - The token needs C(mx:privatecloud-build:write) to delete, and C(mx:privatecloud-build:read) to list.
seealso:
  - module: mendix.private_cloud.mx_package
  - module: mendix.private_cloud.mx_package_info
"""

EXAMPLES = r"""
- name: Keep the newest 10 packages of each branch, and whatever runs somewhere
  mendix.private_cloud.mx_package_prune:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    keep: 10
  delegate_to: localhost

- name: Delete packages older than 30 days, but keep the newest 3 of each branch
  mendix.private_cloud.mx_package_prune:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    keep: 3
    older_than: 30d
  delegate_to: localhost

- name: Show what a prune to the newest 5 would delete
  mendix.private_cloud.mx_package_prune:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    keep: 5
    keep_ids:
      - 045b8cf4-c9cd-41b4-b241-414b87a7f219
  delegate_to: localhost
  check_mode: true
  diff: true
  register: would_prune
"""

RETURN = r"""
deleted:
  description: IDs of the packages deleted (in check mode, that would be deleted), newest first.
  returned: always
  type: list
  elements: str
kept:
  description: IDs of the packages kept, newest first.
  returned: always
  type: list
  elements: str
already_gone:
  description: IDs of packages listed but gone by the time their delete was sent (deleted by someone else).
  returned: always
  type: list
  elements: str
packages:
  description: Every package listed, newest first, with the decision and why.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Package ID.
      type: str
      returned: always
    branch:
      description: The branch the package was built from, as far as it tells (null when it does not).
      type: str
      returned: always
    created_on:
      description: The package's C(createdOn).
      type: str
      returned: always
    model_version:
      description: The package's model version.
      type: str
      returned: always
    file_name:
      description: The package's file name.
      type: str
      returned: always
    action:
      description: V(delete) or V(keep).
      type: str
      returned: always
    reason:
      description: Why.
      type: str
      returned: always
  sample:
    - {"id": "045b8cf4-c9cd-41b4-b241-414b87a7f219", "branch": "main", "created_on": "2026-11-29T10:00:00.000Z",
       "model_version": "1.0.0.6f995268", "file_name": "main-1.0.0.6f995268.mda", "action": "keep",
       "reason": "one of the newest 10 of branch main"}
deployed:
  description: IDs of the packages the app's environments run (empty with O(keep_deployed=false)).
  returned: always
  type: list
  elements: str
rollback_targets:
  description:
    - IDs of the packages kept because an environment ran them before the last deploy this collection made, that
      deploy wrote them, or an environment is C(Processing) with them (empty with O(keep_deployed=false)).
  returned: always
  type: list
  elements: str
jobs:
  description: The delete jobs started, each in the shape of M(mendix.private_cloud.mx_package)'s C(job), with the
    C(package_id) deleted.
  returned: always
  type: list
  elements: dict
"""

import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import env_fallback

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError, is_app_missing
from ansible_collections.mendix.private_cloud.plugins.module_utils._env_service import PROCESSING, container, read_record, record_key
from ansible_collections.mendix.private_cloud.plugins.module_utils._jobs import JobFailed, JobTimeout
from ansible_collections.mendix.private_cloud.plugins.module_utils._journal import ENV_DIR, Journal
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_uuid, job_report
from ansible_collections.mendix.private_cloud.plugins.module_utils._retention import DELETE, parse_duration, plan

MAX_PARALLEL = 20
# A delete job is short: its first poll comes sooner than a build's; later polls space out as usual.
DELETE_FIRST_POLL = 0.25


def check_input(p):
    errors = check_uuid("app_id", p["app_id"])
    if p["keep"] is not None and p["keep"] < 0:
        errors.append("keep must be 0 or more, got %d" % p["keep"])
    if p["older_than"] is not None and parse_duration(p["older_than"]) is None:
        errors.append("older_than must be a whole number and a unit s, m, h, d or w, such as 30d or 12h; got %r" % p["older_than"])
    for value in p["branches"] or []:
        if not str(value).strip():
            errors.append("branches: a branch name must not be empty")
    for value in p["keep_ids"]:
        errors += check_uuid("keep_ids item", value, "a package ID (a UUID)")
    if not 1 <= p["parallel"] <= MAX_PARALLEL:
        errors.append("parallel must be 1 to %d, got %d" % (MAX_PARALLEL, p["parallel"]))
    return errors


def deployed_ids(module, client, app_id):
    """(what the environments run, {package id: why it is kept} for rollback targets and changes in flight, the
    environments with a change in flight). Environments that a task of this controller is changing (their lock is
    held) are not waited for: what they ran and what they get is kept, from the record written before the write."""
    try:
        environments = client.list_environments(app_id)
    except MendixApiError as exc:
        module.fail_api(MendixApiError("%s. keep_deployed needs the app's environments to know what runs; nothing was "
                                       "deleted. Give the token mx:deployment:read, or set keep_deployed: false"
                                       % exc.message, status=exc.status), changed=False)
    journal_dir = module.params["job_journal_dir"]
    journal = Journal(journal_dir)
    found, protected, busy = set(), {}, []
    for manifest in environments:
        env = (manifest or {}).get("environment") or {}
        running, state = container(manifest)
        ns, env_id = ((env.get("provider") or {}).get("namespaceId")), env.get("id")
        name = "%s in namespace %s" % (env_id, ns)
        if running:
            found.add(str(running).lower())
        lock = journal.try_lock(record_key(client.base_url, app_id, ns, env_id)) if ns and env_id else None
        if ns and env_id and lock is None:
            busy.append(name)
        elif lock is not None:
            lock.__exit__(None, None, None)
        record = read_record(journal_dir, client.base_url, app_id, ns, env_id) if ns and env_id else None
        for field, why in (("previous_package_id", "the rollback target of environment %s (it ran it before the last "
                                                   "deploy this collection made)"),
                           ("package_id", "the package the last deploy of environment %s made by this collection "
                                          "wrote")):
            pid = str((record or {}).get(field) or "").lower()
            if pid and pid != str(running or "").lower():
                protected.setdefault(pid, why % name)
        if state == PROCESSING and running:
            protected.setdefault(str(running).lower(), "environment %s is Processing with it" % name)
    return found, protected, busy


def main():
    module = MendixModule(
        argument_spec=dict(
            app_id=dict(type="str", required=True),
            keep=dict(type="int"),
            older_than=dict(type="str"),
            keep_deployed=dict(type="bool", default=True),
            keep_ids=dict(type="list", elements="str", default=[]),
            parallel=dict(type="int", default=4),
            branches=dict(type="list", elements="str"),
            job_journal_dir=dict(type="path", fallback=(env_fallback, [ENV_DIR])),
        ),
        wait=True,
        supports_check_mode=True,
        required_one_of=[("keep", "older_than")],
    )
    p = module.params
    module.fail_on(check_input(p) + module.wait_errors(), changed=False)
    client = module.check_connection_input()
    app_id = p["app_id"].lower()
    try:
        packages = client.list_packages(app_id)
    except MendixApiError as exc:
        module.fail_api(exc, changed=False)
    deployed, protected, busy = deployed_ids(module, client, app_id) if p["keep_deployed"] else (set(), {}, [])
    decisions = plan(packages, time.time(), keep=p["keep"],
                     older_than=parse_duration(p["older_than"]) if p["older_than"] is not None else None,
                     deployed=deployed, keep_ids=set(i.lower() for i in p["keep_ids"]), protected=protected,
                     branches=p["branches"])
    if busy:
        module.warn("A task on this controller is changing %s: what it ran before and what it deploys are kept."
                    % ", ".join(busy))
    doomed = [pkg["id"] for pkg, dummy, action, dummy2 in decisions if action == DELETE]
    result = dict(
        changed=bool(doomed),
        deleted=[],
        kept=[pkg["id"] for pkg, dummy, action, dummy2 in decisions if action != DELETE],
        already_gone=[],
        deployed=sorted(deployed),
        rollback_targets=sorted(protected),
        jobs=[],
        packages=[dict(id=pkg["id"], branch=branch, created_on=pkg.get("createdOn"), model_version=pkg.get("modelVersion"),
                       file_name=pkg.get("fileName"), action=action, reason=reason) for pkg, branch, action, reason in decisions],
        diff=dict(before=dict(packages=[describe(pkg) for pkg, dummy, dummy2, dummy3 in decisions]),
                  after=dict(packages=[describe(pkg) for pkg, dummy, action, dummy2 in decisions if action != DELETE])),
    )
    if module.check_mode or not doomed:
        result["deleted"] = doomed
        module.exit_json(**result)
    if p["keep_deployed"]:
        # read again right before deleting: a deploy that started since the plan keeps what it needs
        again, protected_now, dummy = deployed_ids(module, client, app_id)
        spared = [pid for pid in doomed if pid in again or pid in protected_now]
        if spared:
            doomed = [pid for pid in doomed if pid not in spared]
            for entry in result["packages"]:
                if entry["id"] in spared:
                    reason = protected_now.get(entry["id"]) or "an environment of the app runs it (keep_deployed)"
                    entry.update(action="keep", reason=reason)
            result["kept"] += spared
            result["deployed"] = sorted(set(result["deployed"]) | again)
            result["rollback_targets"] = sorted(set(result["rollback_targets"]) | set(protected_now))
        if not doomed:
            result["changed"] = False
            module.exit_json(**result)
    outcomes = delete_all(module, client, app_id, doomed)
    failures = []
    for package_id, job, error in outcomes:
        if job is not None:
            result["jobs"].append(dict(job, package_id=package_id))
        if error == "gone":
            result["already_gone"].append(package_id)
        elif error:
            failures.append("%s: %s" % (package_id, error))
        else:
            result["deleted"].append(package_id)
    result["changed"] = bool(result["jobs"])
    if failures:
        module.fail_json(msg="%d of %d deletes did not end well (%d deleted): %s. A re-run deletes what is left."
                         % (len(failures), len(doomed), len(result["deleted"]), "; ".join(failures[:5])
                            + (" (and %d more)" % (len(failures) - 5) if len(failures) > 5 else "")), **result)
    module.exit_json(**result)


def describe(pkg):
    return "%s %s (%s)" % (pkg.get("id"), pkg.get("fileName"), pkg.get("createdOn"))


def delete_all(module, client, app_id, package_ids):
    """[(package id, job report or None, error or None)] in the order given; at most ``parallel`` jobs at once."""
    p = module.params

    def delete(package_id):
        try:
            started = client.start_delete(app_id, package_id)
        except MendixApiError as exc:
            if exc.status == 404 and not is_app_missing(exc):
                return package_id, None, "gone"
            return package_id, (job_report(None, None) if exc.accepted else None), exc.message
        if not p["wait"]:
            return package_id, job_report(started), None
        try:
            waited = module.waiter(initial_interval=DELETE_FIRST_POLL).wait(started["id"])
        except (JobFailed, JobTimeout) as exc:
            return package_id, job_report(started, exc.result), exc.message
        except MendixApiError as exc:
            return package_id, job_report(started), exc.message
        return package_id, job_report(started, waited), None

    with ThreadPoolExecutor(max_workers=min(p["parallel"], len(package_ids))) as pool:
        return list(pool.map(delete, package_ids))


if __name__ == "__main__":
    main()

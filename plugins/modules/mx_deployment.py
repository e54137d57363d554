#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_deployment
short_description: Deploy a Mendix for Private Cloud deployment package to an environment
version_added: 0.1.0
description:
  - Points an environment at a deployment package through the Deploy API. The API has no "deploy" call; a package is
    deployed by writing its id into the environment manifest (C(environment.deployment.packageId)).
  - Gets the manifest; when its C(packageId) is already the package the task is V(ok). Otherwise it puts the whole
    manifest back, as the API returned it, with the new C(packageId), waits for the job, then waits until the
    environment runs the package - its C(container.state) is C(Ready) with the new C(packageId) - and, with
    O(health_check_url), until the app answers as asked. C(Failed) fails the task at once, saying so.
  - The update job only means the manifest was accepted; the app may still be starting or fail to start. The wait
    for C(Ready) is what makes a finished task mean "the environment runs the package".
  - With O(restart=true) the documented restart recipe follows the change, setting instances to 0 and then back to
    their previous count, each step waited, then the wait for C(Ready). An app that was stopped on purpose (0
    instances before the change) is not started; the result's RV(notes) says so.
  - With O(rollback_on_failure=true), when the update job fails or does not end in time, the environment ends
    C(Failed), a restart step fails, or the health check does not pass in time, the package and the instance count
    the environment had before the task are put back, waited for until C(Ready), and checked by a fresh read; the
    task fails saying what failed and that it rolled back, or, when the rollback does not end where the task
    started, exactly which package, instance count and state the environment has. An update job that did not end in
    time is waited for (half the rollback's time at most) and then superseded by the rollback's write; an update that
    the API carries out later still is outside what the task can see, and the message says the job was superseded.
  - A rollback puts the previous package back; it does B(not) undo database changes that the new package made when
    it started.
  - Before it writes, the task records in the job journal's folder (O(job_journal_dir)) which package the
    environment ran and which it gets; M(mendix.private_cloud.mx_package_prune) keeps both, so a rollback target is
    never pruned by this collection on this controller. Deploys made by other tools, or from controllers that share
    no journal folder, leave no record.
  - Promotion - with O(source_environment_id) instead of O(package_id), deploys the package that the source
    environment runs (for example acceptance to production), only when the source is C(Ready) with it and has
    instances (see O(source_allow_stopped)); otherwise the task fails before any write, naming the source's state and
    package. Idempotent like any deploy.
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
      - Required, unless O(deployments) is given.
    type: str
  namespace_id:
    description:
      - ID of the namespace the environment runs in.
      - Required, unless O(deployments) is given.
    type: str
  environment_id:
    description:
      - ID of the environment (at most 32 characters), not its name.
      - Required, unless O(deployments) is given.
    type: str
  package_id:
    description:
      - ID (a UUID) of the deployment package to run, for example RV(mendix.private_cloud.mx_package#module:package_id).
      - One of O(package_id), O(source_environment_id) and O(deployments) is required.
    type: str
  source_environment_id:
    description:
      - Promote - deploy the package this environment of the same app runs. Fails when it runs no package.
    type: str
  source_namespace_id:
    description:
      - Namespace of O(source_environment_id); by default O(namespace_id).
    type: str
  source_allow_stopped:
    description:
      - Promote the package of a source environment that has 0 instances (stopped). By default a promotion needs the
        source to run its package - C(Ready) with instances - so that a package nobody saw start is never promoted.
      - A source that is C(Failed) or C(Processing) is refused either way.
    type: bool
    default: false
  health_check_url:
    description:
      - After C(Ready), poll this URL until it answers O(health_check_status) (and holds O(health_check_contains)),
        within the wait. An absolute http(s) URL, or a path under the environment's C(appUrl) (such as
        V(/rest/health)).
      - The check goes through the collection's HTTP client - its O(request_timeout), the task's bound and its guard
        against an answer that trickles in - with O(validate_certs) and O(ca_path). The API token is never sent there.
    type: str
  health_check_status:
    description:
      - The HTTP status the health check wants.
    type: int
    default: 200
  health_check_contains:
    description:
      - A text the health check's answer must contain (read from its first 64 KiB).
    type: str
  rollback_on_failure:
    description:
      - When the update job fails, the environment ends C(Failed), or the health check does not pass in time, put the
        previous package back, wait for C(Ready), and fail saying so. Needs O(wait=true).
      - The rollback gets a O(wait_timeout) of its own, so the task ends within twice O(wait_timeout) plus two
        O(request_timeout).
      - It does not undo database changes the new package made when it started.
    type: bool
    default: false
  restart:
    description:
      - After a change, stop the app (instances to 0) and start it again with its previous number of instances.
      - Needs O(wait=true). Nothing is restarted when the environment already runs the package, and an app that had
        0 instances before the change (stopped on purpose) is not started; RV(notes) says so.
    type: bool
    default: false
  deployments:
    description:
      - Many deploys in one task (a fleet), for example every app of a nightly build, each run as one task with
        O(app_id) would be (the same reads, lock, waits, verification and rollback), all at once in this one process
        and within one bound, O(wait_timeout) plus one O(request_timeout) for the whole task (twice that with
        rollbacks).
      - Items that deploy to the same environment must ask for the same package and options; they share one deploy,
        the first reports it and the others report C(joined=true) in their RV(deployments) item. Items that differ
        fail the task before any request.
      - O(restart), O(rollback_on_failure) and the health check options of the task apply to every item that does
        not give its own; O(wait), O(wait_timeout), O(wait_max_interval), O(job_journal_dir) and the connection
        options apply to every item. Promotion (O(source_environment_id)) is for single tasks.
      - Every item is checked before any request is sent; one item's bad value fails the task with nothing sent.
      - An empty string in an item is a value left out (so that a template can give every key).
      - The role C(mendix.private_cloud.build_and_deploy) uses this to deploy for all hosts of a play in one task.
    type: list
    elements: dict
    version_added: 0.3.0
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
      namespace_id:
        description:
          - ID of the namespace the environment runs in.
        type: str
        required: true
      environment_id:
        description:
          - ID of the environment, not its name.
        type: str
        required: true
      package_id:
        description:
          - ID of the deployment package to run; required (an empty value is refused, naming the item).
        type: str
      restart:
        description:
          - As O(restart); the task's when not given.
        type: bool
      rollback_on_failure:
        description:
          - As O(rollback_on_failure); the task's when not given.
        type: bool
      health_check_url:
        description:
          - As O(health_check_url); the task's when not given.
        type: str
      health_check_status:
        description:
          - As O(health_check_status); the task's when not given.
        type: int
      health_check_contains:
        description:
          - As O(health_check_contains); the task's when not given.
        type: str
  fail_on_deploy_error:
    description:
      - With O(deployments), whether the task fails when one of its deploys fails (after every deploy has ended).
      - With V(false), the task fails only on bad input; each failed deploy says so in its own RV(deployments) item
        (C(failed) and C(msg)), so that a play can fail just the hosts of that environment (as the role does).
    type: bool
    default: true
    version_added: 0.3.0
notes:
  - In check mode, a O(package_id) that is given but null (for example C(build.package_id) of a build that check mode
    only predicted, which has no package yet) is reported as the deploy a real run makes - V(changed), with RV(notes)
    saying so - and sends no request.
  - Needs a token with the scope C(mx:deployment:write) (C(mx:deployment:read) is enough in check mode).
  - Before writing, the package is looked up with the Build API (C(mx:privatecloud-build:read)), so that a wrong
    O(package_id) fails before the environment is touched; without that scope the check is skipped with a warning.
seealso:
  - module: mendix.private_cloud.mx_package
  - name: Deploy API reference
    description: Mendix for Private Cloud Deploy API documentation.
    link: https://docs.mendix.com/apidocs-mxsdk/apidocs/private-cloud-deploy-api/
"""

EXAMPLES = r"""
- name: Build a package
  mendix.private_cloud.mx_package:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    branch: main
    revision: 6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4
  register: build

- name: Deploy it to the test environment
  mendix.private_cloud.mx_deployment:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    namespace_id: d43aee0b-f7db-4e62-868b-1192d392cfed
    environment_id: gitdemo
    package_id: "{{ build.package_id }}"

- name: Deploy, check the app answers, and put the previous package back if it does not
  mendix.private_cloud.mx_deployment:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    namespace_id: d43aee0b-f7db-4e62-868b-1192d392cfed
    environment_id: gitdemo
    package_id: "{{ build.package_id }}"
    health_check_url: /
    health_check_contains: running
    rollback_on_failure: true

- name: Promote what test runs to acceptance
  mendix.private_cloud.mx_deployment:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    namespace_id: d43aee0b-f7db-4e62-868b-1192d392cfed
    environment_id: acceptance
    source_environment_id: gitdemo

- name: Deploy the night's packages to every test environment at once
  mendix.private_cloud.mx_deployment:
    deployments:
      - name: orders
        app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
        namespace_id: d43aee0b-f7db-4e62-868b-1192d392cfed
        environment_id: gitdemo
        package_id: "{{ build.package_id }}"
    health_check_url: /
    rollback_on_failure: true
  register: fleet

- name: Deploy and restart the app
  mendix.private_cloud.mx_deployment:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    namespace_id: d43aee0b-f7db-4e62-868b-1192d392cfed
    environment_id: gitdemo
    package_id: "{{ build.package_id }}"
    restart: true
    wait_timeout: 1800
"""

RETURN = r"""
package_id:
  description:
    - The package the environment runs after the task (in check mode, the one it would run). After a rollback, the
      package rolled back to; after a failure without one, the package in the environment's manifest.
  returned: always
  type: str
previous_package_id:
  description: The package the environment ran before the task.
  returned: always
  type: str
environment:
  description: Summary of the environment after the task.
  returned: always
  type: dict
  contains:
    id:
      description: Environment ID.
      type: str
      returned: always
    package_id:
      description: Package ID in the manifest.
      type: str
      returned: always
    instances:
      description: Number of instances.
      type: int
      returned: always
    state:
      description: Container state (C(Ready), C(Processing), C(Failed) or C(Unknown)).
      type: str
      returned: when the API gives it
    app_url:
      description: URL of the app.
      type: str
      returned: always
jobs:
  description: The Deploy API jobs waited on, in order (the update, the stop and start of a restart, a rollback).
  returned: always
  type: list
  elements: dict
ready:
  description: How long the wait for C(Ready) took after the jobs (C(elapsed) seconds, C(polls)).
  returned: when the environment was waited on to be Ready
  type: dict
health_check:
  description: The health check that passed (C(url), C(elapsed) seconds, C(polls)).
  returned: with O(health_check_url), when it passed
  type: dict
notes:
  description: What the task left undone on purpose, for example not starting an app that had no instances.
  returned: always
  type: list
  elements: str
rolled_back:
  description: Whether the previous package and instance count were put back and checked (always false on success).
  returned: always
  type: bool
rollback_package_id:
  description: The package a rollback put back (or tried to).
  returned: when a rollback was made or tried
  type: str
deployments:
  description:
    - With O(deployments), one item per item given, in the same order, each with the keys a task with O(app_id)
      returns for that deploy (RV(package_id), RV(previous_package_id), RV(environment), RV(jobs), RV(ready),
      RV(health_check), RV(notes), RV(rolled_back), RV(rollback_package_id)), and the keys below. The task's own
      RV(package_id), RV(previous_package_id) and RV(environment) are then V(null).
    - The task's own C(changed) is V(true) when any item's is.
  returned: when O(deployments) is given
  type: list
  elements: dict
  version_added: 0.3.0
  contains:
    name:
      description: The item's O(deployments[].name).
      type: str
      returned: always
    app_id:
      description: The item's O(deployments[].app_id), in lower case.
      type: str
      returned: always
    changed:
      description: Whether this item changed (or, in check mode, would change) its environment.
      type: bool
      returned: always
    joined:
      description: Whether an earlier item of the list made this item's deploy (the same environment and package).
      type: bool
      returned: always
    failed:
      description: Whether this item's deploy failed.
      type: bool
      returned: always
    msg:
      description: Why the deploy failed.
      type: str
      returned: when RV(deployments[].failed)
    warnings:
      description: The warnings of this item's deploy (also given as the task's warnings, with the item's name).
      type: list
      elements: str
      returned: always
by_name:
  description:
    - With O(deployments), the same items as RV(deployments), by their name, so that a host of a play can take its
      own with C(result.by_name[inventory_hostname]) at no cost per host.
  returned: when O(deployments) is given
  type: dict
  version_added: 0.3.0
  sample: {"orders": {"name": "orders", "package_id": "63e50976-34bf-4ce4-820b-9e5f106e5fa5", "changed": true}}
"""

from ansible.module_utils.basic import env_fallback

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._env_service import DeployFailed, EnvironmentService, LockTimeout
from ansible_collections.mendix.private_cloud.plugins.module_utils._fleet import Fleet, run_item
from ansible_collections.mendix.private_cloud.plugins.module_utils._journal import ENV_DIR
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_length, check_uuid


TASK_KEYS = dict(package_id=None, previous_package_id=None, environment=None, jobs=[], notes=[], rolled_back=False)
ITEM_OPTIONS = ("restart", "rollback_on_failure", "health_check_url", "health_check_status", "health_check_contains")


def check_deploy(p, wait):
    """A deploy's values (of the task, or of one item of deployments=) that the argument spec cannot check."""
    errors = check_uuid("app_id", p["app_id"])
    if p.get("package_id") is not None:
        errors += check_uuid("package_id", p["package_id"], "the UUID of a deployment package of this app")
    errors += check_length("namespace_id", p["namespace_id"], 1, 64)
    errors += check_length("environment_id", p["environment_id"], 1, 32, " (the environment's ID, not its name)")
    if p.get("source_environment_id") is not None:
        errors += check_length("source_environment_id", p["source_environment_id"], 1, 32, " (the environment's ID, not its name)")
        if p["source_environment_id"] == p["environment_id"] and p.get("source_namespace_id") in (None, p["namespace_id"]):
            errors.append("source_environment_id must be another environment than environment_id")
    elif p.get("source_allow_stopped"):
        errors.append("source_allow_stopped applies to a promotion: give source_environment_id, or leave it out")
    if p.get("source_namespace_id") is not None:
        errors += check_length("source_namespace_id", p["source_namespace_id"], 1, 64)
    if p["health_check_url"] is not None and not p["health_check_url"].strip():
        errors.append("health_check_url must be an http(s) URL or a path under the environment's appUrl")
    if p["health_check_contains"] is not None and p["health_check_url"] is None:
        errors.append("health_check_contains needs health_check_url: it is what the check's answer must hold")
    if not 100 <= p["health_check_status"] <= 599:
        errors.append("health_check_status must be an HTTP status from 100 to 599, got %d" % p["health_check_status"])
    for option in ("restart", "rollback_on_failure"):
        if p[option] and not wait:
            errors.append("%s=true needs wait=true: it acts on what the wait finds" % option)
    if p["health_check_url"] and not wait:
        errors.append("health_check_url needs wait=true: the check runs within the wait")
    return errors


def item_params(p, item):
    """The options one item of deployments= runs with: its own, and the task's where it gives none."""
    params = dict(p, deployments=None, source_environment_id=None, source_namespace_id=None, source_allow_stopped=False)
    for key in ("app_id", "namespace_id", "environment_id", "package_id"):
        params[key] = item.get(key)
    for key in ITEM_OPTIONS:
        if item.get(key) is not None:
            params[key] = item[key]
    return params


def check_deployments(p):
    """Every item of deployments=, each error naming the item, before any request. Items that deploy to the same
    environment must ask for the same thing (they share one deploy)."""
    if not p["deployments"]:
        return ["deployments is empty: give one item per environment, or leave deployments out and give app_id"]
    errors, names, where_of = [], set(), {}
    for index, item in enumerate(p["deployments"]):
        item.update((key, None) for key, value in list(item.items()) if value == "")
        where = "deployments[%d]" % index + (" (%s)" % item["name"] if item.get("name") else "")
        own = []
        if not item.get("name"):
            own.append("name must not be empty: give each item a name unique in the list (the role uses the host's)")
        elif item["name"] in names:
            own.append("name %s is given to another item too: give each item its own name" % item["name"])
        names.add(item.get("name"))
        params = item_params(p, item)
        if params["package_id"] is None:
            own.append("package_id is missing: give the package this environment gets")
        own += check_deploy(params, p["wait"])
        if not own:
            target = (params["app_id"].lower(), params["namespace_id"], params["environment_id"])
            asked = tuple(str(params[key]).lower() for key in ("package_id",) + ITEM_OPTIONS)
            first = where_of.setdefault(target, (where, asked))
            if first[1] != asked:
                own.append("deploys to the same environment as %s with other values; one environment gets one deploy: "
                           "give both the same package_id and options, or drop one" % first[0])
        errors += ["%s: %s" % (where, error) for error in own]
    return errors


def main():
    module = MendixModule(
        argument_spec=dict(
            app_id=dict(type="str"),
            namespace_id=dict(type="str"),
            environment_id=dict(type="str"),
            package_id=dict(type="str"),
            source_environment_id=dict(type="str"),
            source_namespace_id=dict(type="str"),
            source_allow_stopped=dict(type="bool", default=False),
            restart=dict(type="bool", default=False),
            health_check_url=dict(type="str"),
            health_check_status=dict(type="int", default=200),
            health_check_contains=dict(type="str"),
            rollback_on_failure=dict(type="bool", default=False),
            job_journal_dir=dict(type="path", fallback=(env_fallback, [ENV_DIR])),
            deployments=dict(type="list", elements="dict", options=dict(
                name=dict(type="str", required=True),
                app_id=dict(type="str", required=True),
                namespace_id=dict(type="str", required=True),
                environment_id=dict(type="str", required=True),
                package_id=dict(type="str"),
                restart=dict(type="bool"),
                rollback_on_failure=dict(type="bool"),
                health_check_url=dict(type="str"),
                health_check_status=dict(type="int"),
                health_check_contains=dict(type="str"),
            )),
            fail_on_deploy_error=dict(type="bool", default=True),
        ),
        wait=True,
        supports_check_mode=True,
        required_one_of=[("app_id", "deployments"), ("package_id", "source_environment_id", "deployments")],
        required_together=[("app_id", "namespace_id", "environment_id")],
        mutually_exclusive=[("package_id", "source_environment_id")] + [
            ("deployments", option)
            for option in ("app_id", "namespace_id", "environment_id", "package_id", "source_environment_id")],
        required_by={"source_namespace_id": "source_environment_id", "health_check_contains": "health_check_url"},
    )
    p = module.params
    if p["deployments"] is not None:
        errors = check_deployments(p)
    else:
        errors = check_deploy(p, p["wait"])
        if p["package_id"] is None and p["source_environment_id"] is None:  # given, but null: the spec counts it given
            errors.insert(0, "package_id is null: give the ID of the package to deploy (a build's package_id is null "
                          "until the build has finished, in check mode or with wait=false), or source_environment_id "
                          "to promote what another environment runs")
    errors += module.wait_errors()
    module.fail_on(errors, changed=False, **TASK_KEYS)
    if p["deployments"] is not None:
        DeploymentFleet(module).run()
    module.check_connection_input()
    deploy(module)


def deploy(module):
    """One deploy (or promotion) to its end: the task, or one item of deployments=, exits or fails through
    ``module``."""
    p = module.params
    app_id = p["app_id"].lower()
    service = EnvironmentService(module, app_id, p["namespace_id"], p["environment_id"])
    try:
        package_id = p["package_id"].lower() if p["package_id"] else promoted_package(module, app_id)
    except (DeployFailed, MendixApiError) as exc:
        module.fail_json(msg=exc.message, changed=False, status_code=getattr(exc, "status", None))
    # One change to an environment at a time from this controller: hosts of a play that ask for the same deploy make
    # one, the others find the package in place.
    try:
        with service.lock():
            outcome = service.deploy(package_id, restart=p["restart"], rollback_on_failure=p["rollback_on_failure"])
    except LockTimeout as exc:
        module.fail_json(msg="%s; raise wait_timeout, or look for a task that hangs" % exc, changed=False)
    outcome.report(module)


class DeploymentFleet(Fleet):
    """deployments=: every environment's deploy at once, each as one task would make it."""

    OPTION, FAIL_OPTION, JOINED, TASK_KEYS = "deployments", "fail_on_deploy_error", "joined", TASK_KEYS

    def key(self, item):
        # check_deployments made sure that the items of one environment ask for the same deploy
        return item["app_id"].lower(), item["namespace_id"], item["environment_id"]

    def run_one(self, item):
        return run_item(self.module, item_params(self.p, item), deploy, changed=False)


def promoted_package(module, app_id):
    """The package the source environment runs (promotion); DeployFailed naming its state and package otherwise."""
    p = module.params
    source = EnvironmentService(module, app_id, p["source_namespace_id"] or p["namespace_id"], p["source_environment_id"])
    return source.running_package(p["source_allow_stopped"], "source_environment_id", "source_namespace_id")


if __name__ == "__main__":
    main()

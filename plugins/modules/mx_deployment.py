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
    type: str
    required: true
  namespace_id:
    description:
      - ID of the namespace the environment runs in.
    type: str
    required: true
  environment_id:
    description:
      - ID of the environment (at most 32 characters), not its name.
    type: str
    required: true
  package_id:
    description:
      - ID (a UUID) of the deployment package to run, for example RV(mendix.private_cloud.mx_package#module:package_id).
      - One of O(package_id) and O(source_environment_id) is required.
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
notes:
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
"""

from ansible.module_utils.basic import env_fallback

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._env_service import DeployFailed, EnvironmentService, LockTimeout
from ansible_collections.mendix.private_cloud.plugins.module_utils._journal import ENV_DIR
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_length, check_uuid


def main():
    module = MendixModule(
        argument_spec=dict(
            app_id=dict(type="str", required=True),
            namespace_id=dict(type="str", required=True),
            environment_id=dict(type="str", required=True),
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
        ),
        wait=True,
        supports_check_mode=True,
        required_one_of=[("package_id", "source_environment_id")],
        mutually_exclusive=[("package_id", "source_environment_id")],
        required_by={"source_namespace_id": "source_environment_id", "health_check_contains": "health_check_url"},
    )
    p = module.params
    errors = check_uuid("app_id", p["app_id"])
    if p["package_id"] is not None:
        errors += check_uuid("package_id", p["package_id"], "the UUID of a deployment package of this app")
    errors += check_length("namespace_id", p["namespace_id"], 1, 64)
    errors += check_length("environment_id", p["environment_id"], 1, 32, " (the environment's ID, not its name)")
    if p["source_environment_id"] is not None:
        errors += check_length("source_environment_id", p["source_environment_id"], 1, 32, " (the environment's ID, not its name)")
        if p["source_environment_id"] == p["environment_id"] and p["source_namespace_id"] in (None, p["namespace_id"]):
            errors.append("source_environment_id must be another environment than environment_id")
    elif p["source_allow_stopped"]:
        errors.append("source_allow_stopped applies to a promotion: give source_environment_id, or leave it out")
    if p["source_namespace_id"] is not None:
        errors += check_length("source_namespace_id", p["source_namespace_id"], 1, 64)
    if p["health_check_url"] is not None and not p["health_check_url"].strip():
        errors.append("health_check_url must be an http(s) URL or a path under the environment's appUrl")
    if not 100 <= p["health_check_status"] <= 599:
        errors.append("health_check_status must be an HTTP status from 100 to 599, got %d" % p["health_check_status"])
    for option in ("restart", "rollback_on_failure"):
        if p[option] and not p["wait"]:
            errors.append("%s=true needs wait=true: it acts on what the wait finds" % option)
    if p["health_check_url"] and not p["wait"]:
        errors.append("health_check_url needs wait=true: the check runs within the wait")
    errors += module.wait_errors()
    module.fail_on(errors, changed=False)
    module.check_connection_input()
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


def promoted_package(module, app_id):
    """The package the source environment runs (promotion); DeployFailed naming its state and package otherwise."""
    p = module.params
    source = EnvironmentService(module, app_id, p["source_namespace_id"] or p["namespace_id"], p["source_environment_id"])
    return source.running_package(p["source_allow_stopped"], "source_environment_id", "source_namespace_id")


if __name__ == "__main__":
    main()

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
  - With O(rollback_on_failure=true), when the update job fails, the environment ends C(Failed), or the health check
    does not pass in time, the previous package is put back and waited for until C(Ready), and the task fails saying
    what failed and that it rolled back (or that the rollback failed too). A rollback puts the previous package back;
    it does B(not) undo database changes that the new package made when it started.
  - Promotion - with O(source_environment_id) instead of O(package_id), deploys the package that the source
    environment runs (for example acceptance to production); idempotent like any deploy.
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
  health_check_url:
    description:
      - After C(Ready), poll this URL until it answers O(health_check_status) (and holds O(health_check_contains)),
        within the wait. An absolute http(s) URL, or a path under the environment's C(appUrl) (such as
        V(/rest/health)).
      - O(validate_certs) and O(ca_path) apply. The API token is never sent there.
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
  description: The package the environment runs after the task (in check mode, the one it would run).
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
  returned: when a change was made
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
  returned: when a change was made
  type: list
  elements: str
rolled_back:
  description: On a failed deploy, whether the previous package was put back and is C(Ready).
  returned: on failure after the change was sent
  type: bool
"""

import time

from ansible.module_utils.basic import env_fallback

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._deploy import (
    READY,
    DeployFailed,
    check_health,
    check_package,
    container,
    health_url,
    wait_deploy_job,
    wait_ready,
)

from ansible_collections.mendix.private_cloud.plugins.module_utils._jobs import JobFailed, JobTimeout
from ansible_collections.mendix.private_cloud.plugins.module_utils._journal import ENV_DIR, Journal, LockTimeout, identity_key
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_length, check_uuid, snake


def summary(manifest):
    env = (manifest or {}).get("environment") or {}
    deployment = env.get("deployment") or {}
    container = env.get("container") or {}
    out = {"id": env.get("id"), "package_id": deployment.get("packageId"), "instances": container.get("instances"),
           "app_url": deployment.get("appUrl")}
    if container.get("state"):
        out["state"] = container["state"]
    return out


def main():
    module = MendixModule(
        argument_spec=dict(
            app_id=dict(type="str", required=True),
            namespace_id=dict(type="str", required=True),
            environment_id=dict(type="str", required=True),
            package_id=dict(type="str"),
            source_environment_id=dict(type="str"),
            source_namespace_id=dict(type="str"),
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
    ns, env_id = p["namespace_id"], p["environment_id"]
    client = module.client
    where = "environment_id=%s in namespace_id=%s of app_id=%s" % (env_id, ns, app_id)
    package_id = p["package_id"].lower() if p["package_id"] else promoted_package(module, client, app_id, ns)
    # One deploy to an environment at a time from this controller: hosts of a play that ask for the same deploy make
    # one, the others find the package in place.
    journal = Journal(p["job_journal_dir"])
    try:
        with journal.lock(identity_key((client.base_url, app_id, "deploy", ns, env_id)), module.time_left(p["wait_timeout"])):
            Deploy(module, client, app_id, ns, env_id, package_id, where).run()
    except LockTimeout as exc:
        module.fail_json(msg="%s; raise wait_timeout, or look for a task that hangs" % exc, changed=False)


def promoted_package(module, client, app_id, ns):
    """The package the source environment runs (promotion)."""
    p = module.params
    source_ns = p["source_namespace_id"] or ns
    source = "source_environment_id=%s in namespace_id=%s" % (p["source_environment_id"], source_ns)
    try:
        manifest = client.get_environment(app_id, source_ns, p["source_environment_id"])
    except MendixApiError as exc:
        if exc.status == 404:
            module.fail_json(msg="The source environment was not found: %s. (%s)" % (source, exc.message), changed=False)
        module.fail_api(exc, changed=False)
    running = container(manifest)[0]
    if not running:
        module.fail_json(msg="The source environment %s runs no package, so there is nothing to promote." % source,
                         changed=False)
    return str(running).lower()


class Deploy(object):
    """One deploy: write the package, wait for the job and for Ready, check health, roll back when asked."""

    def __init__(self, module, client, app_id, ns, env_id, package_id, where):
        self.module = module
        self.p = module.params
        self.client = client
        self.app_id, self.ns, self.env_id = app_id, ns, env_id
        self.package_id = package_id
        self.where = where
        self.jobs = []
        self.notes = []
        self.result = dict(package_id=package_id)

    def run(self):
        module, client, package_id = self.module, self.client, self.package_id
        manifest = self.read()
        before = summary(manifest)
        previous = before["package_id"]
        self.result.update(previous_package_id=previous, diff={"before": {"package_id": previous}, "after": {"package_id": package_id}})
        if previous == package_id:
            if self.p["wait"] and not module.check_mode:
                # nothing to change, but the task still ends when the package runs (a re-run after a timed-out start)
                try:
                    self.settle(before)
                except (DeployFailed, MendixApiError) as exc:
                    module.fail_json(msg="The environment already runs package_id=%s (%s): %s" % (package_id, self.where, exc),
                                     changed=False, environment=summary(self.read()), **self.result)
                before = summary(self.read())
            module.exit_json(changed=False, environment=before, **self.result)
        check_package(module, client, self.app_id, package_id, "updated")
        if module.check_mode:
            module.exit_json(changed=True, environment=dict(before, package_id=package_id), **self.result)
        manifest["environment"]["deployment"]["packageId"] = package_id
        try:
            job = client.put_environment(self.app_id, self.ns, self.env_id, manifest)
        except MendixApiError as exc:
            module.fail_api(exc, changed=False)
        if not self.p["wait"]:
            module.exit_json(changed=True, environment=summary(manifest), jobs=[snake(job)], **self.result)
        try:
            self.finish(job, before)
        except (DeployFailed, MendixApiError, JobFailed, JobTimeout) as exc:
            self.failed(exc, previous)
        final = self.read()
        module.exit_json(changed=True, environment=summary(final), jobs=self.jobs, notes=self.notes, **self.result)

    def read(self):
        try:
            manifest = self.client.get_environment(self.app_id, self.ns, self.env_id)
        except MendixApiError as exc:
            if exc.status == 404:
                self.module.fail_json(msg="The environment was not found: %s. Check environment_id (the environment's ID, "
                                          "not its name) and namespace_id. (%s)" % (self.where, exc.message), changed=False)
            self.module.fail_api(exc, changed=bool(self.jobs))
        missing = manifest_gaps(manifest)
        if missing:
            self.module.fail_json(msg="The manifest the Deploy API gave for %s has no %s, so the package cannot be set in "
                                      "it; check base_url (a Deploy API v4 URL) and the environment in the Mendix Portal."
                                      % (self.where, " and no ".join(missing)), changed=bool(self.jobs))
        return manifest

    def finish(self, job, before):
        """Wait for the update job, restart when asked, wait for Ready, check health."""
        p = self.p
        self.jobs.append(self.wait_job(job, "deploying package_id=%s to %s" % (self.package_id, self.where)))
        instances = int(before["instances"] or 0)
        if p["restart"] and instances == 0:
            self.notes.append("The app was stopped (instances 0) before the change, so it was not restarted.")
        elif p["restart"]:
            for count, step in ((0, "stopping"), (instances, "starting")):
                current = self.read()
                current["environment"]["container"]["instances"] = count
                job = self.client.put_environment(self.app_id, self.ns, self.env_id, current)
                self.jobs.append(self.wait_job(job, "%s the app (instances=%s) in %s" % (step, count, self.where)))
        self.settle(before)
        final = self.read()
        if summary(final)["package_id"] != self.package_id:
            raise DeployFailed("the update job finished but the environment runs package %s, not package_id=%s"
                               % (summary(final)["package_id"], self.package_id))

    def settle(self, before):
        """Wait until the environment is Ready with the package (unless it has no instances), then the health check."""
        p = self.p
        if int(before["instances"] or 0) == 0:
            self.notes.append("The app has no instances, so it was not waited on to be Ready.")
        elif before.get("state") == READY and before["package_id"] == self.package_id and not self.jobs:
            pass  # already running the package: nothing to wait for
        else:
            dummy, seconds, polls = wait_ready(self.client, self.app_id, self.ns, self.env_id, self.package_id,
                                               self.module.time_left(p["wait_timeout"]), p["wait_max_interval"])
            self.result["ready"] = dict(elapsed=round(seconds, 3), polls=polls)
        if p["health_check_url"]:
            url = health_url(p["health_check_url"], before.get("app_url") or "")
            seconds, polls = check_health(url, p["health_check_status"], p["health_check_contains"], self.verify(),
                                          p["request_timeout"], self.module.time_left(p["wait_timeout"]),
                                          p["wait_max_interval"])
            self.result["health_check"] = dict(url=url, elapsed=round(seconds, 3), polls=polls)

    def verify(self):
        return self.p["ca_path"] if self.p.get("ca_path") else self.p["validate_certs"]

    def wait_job(self, job, what):
        return wait_deploy_job(self.module, job, what, ". Check that package_id is a deployment package of this app")

    def failed(self, exc, previous):
        """Fail the task, rolling back first when asked and possible."""
        message = getattr(exc, "message", None) or str(exc)
        if not self.p["rollback_on_failure"]:
            self.module.fail_json(msg="Deploying package_id=%s to %s: %s" % (self.package_id, self.where, message),
                                  changed=True, jobs=self.jobs, notes=self.notes, rolled_back=False, **self.result)
        if not previous:
            self.module.fail_json(msg="Deploying package_id=%s to %s: %s. Nothing to roll back to: the environment ran no "
                                      "package before." % (self.package_id, self.where, message),
                                  changed=True, jobs=self.jobs, notes=self.notes, rolled_back=False, **self.result)
        # The rollback gets a wait_timeout of its own, so that it can end even when the deploy used all of its time.
        self.module.started = time.monotonic()
        self.client.deadline = self.module.deadline()
        try:
            current = self.read()
            if container(current)[0] != previous:
                current["environment"]["deployment"]["packageId"] = previous
                job = self.client.put_environment(self.app_id, self.ns, self.env_id, current)
                self.jobs.append(self.wait_job(job, "rolling back to package_id=%s in %s" % (previous, self.where)))
            if int(summary(current)["instances"] or 0) > 0:
                wait_ready(self.client, self.app_id, self.ns, self.env_id, previous,
                           self.module.time_left(self.p["wait_timeout"]), self.p["wait_max_interval"])
        except (DeployFailed, MendixApiError, JobFailed, JobTimeout) as again:
            self.module.fail_json(msg="Deploying package_id=%s to %s: %s. The rollback to package %s failed too: %s"
                                      % (self.package_id, self.where, message, previous, getattr(again, "message", again)),
                                  changed=True, jobs=self.jobs, notes=self.notes, rolled_back=False, **self.result)
        self.module.fail_json(msg="Deploying package_id=%s to %s: %s. Rolled back: the environment runs package %s again "
                                  "(Ready). A rollback does not undo database changes the new package made when it started."
                                  % (self.package_id, self.where, message, previous),
                              changed=True, jobs=self.jobs, notes=self.notes, rolled_back=True,
                              environment=summary(self.read()), **self.result)


def manifest_gaps(manifest):
    """The parts of an environment manifest a deploy needs and the answer lacks."""
    env = manifest.get("environment") if isinstance(manifest, dict) else None
    if not isinstance(env, dict):
        return ["environment"]
    return ["environment.%s" % key for key in ("deployment", "container") if not isinstance(env.get(key), dict)]


if __name__ == "__main__":
    main()

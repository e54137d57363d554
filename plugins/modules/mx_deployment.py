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
  - Gets the manifest; when its C(packageId) is already O(package_id) the task is V(ok). Otherwise it puts the whole
    manifest back, as the API returned it, with the new C(packageId), waits for the job, and gets the manifest again
    to verify it.
  - With O(restart=true) the documented restart recipe follows the change, setting instances to 0 and then back to their previous
    count, each step waited.
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
    type: str
    required: true
  restart:
    description:
      - After a change, stop the app (instances to 0) and start it again with its previous number of instances.
      - Needs O(wait=true). Nothing is restarted when the environment already runs O(package_id).
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
  description: The Deploy API jobs waited on, in order (the update, then the stop and start of a restart).
  returned: when a change was made
  type: list
  elements: dict
"""

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import SCOPES_DEPLOY_READ, MendixApiError
from ansible.module_utils.basic import env_fallback

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
            package_id=dict(type="str", required=True),
            restart=dict(type="bool", default=False),
            job_journal_dir=dict(type="path", fallback=(env_fallback, [ENV_DIR])),
        ),
        wait=True,
        supports_check_mode=True,
    )
    p = module.params
    errors = check_uuid("app_id", p["app_id"])
    errors += check_uuid("package_id", p["package_id"], "the UUID of a deployment package of this app")
    errors += check_length("namespace_id", p["namespace_id"], 1, 64)
    errors += check_length("environment_id", p["environment_id"], 1, 32, " (the environment's ID, not its name)")
    if p["restart"] and not p["wait"]:
        errors.append("restart=true needs wait=true: each step of the restart is waited on")
    errors += module.wait_errors()
    module.fail_on(errors, changed=False)
    module.check_connection_input()
    app_id, package_id = p["app_id"].lower(), p["package_id"].lower()
    ns, env_id = p["namespace_id"], p["environment_id"]
    client = module.client
    where = "environment_id=%s in namespace_id=%s of app_id=%s" % (env_id, ns, app_id)
    # One deploy to an environment at a time from this controller: hosts of a play that ask for the same deploy make
    # one, the others find the package in place.
    journal = Journal(p["job_journal_dir"])
    try:
        with journal.lock(identity_key((client.base_url, app_id, "deploy", ns, env_id)), module.time_left(p["wait_timeout"])):
            deploy(module, client, app_id, ns, env_id, package_id, where)
    except LockTimeout as exc:
        module.fail_json(msg="%s; raise wait_timeout, or look for a task that hangs" % exc, changed=False)


def deploy(module, client, app_id, ns, env_id, package_id, where):
    """Read the manifest, write the package into it unless it is there, wait, and verify."""
    p = module.params
    try:
        manifest = client.get_environment(app_id, ns, env_id)
    except MendixApiError as exc:
        if exc.status == 404:
            module.fail_json(msg="The environment was not found: %s. Check environment_id (the environment's ID, not its "
                                 "name) and namespace_id. (%s)" % (where, exc.message), changed=False)
        module.fail_api(exc, changed=False)
    missing = manifest_gaps(manifest)
    if missing:
        module.fail_json(msg="The manifest the Deploy API gave for %s has no %s, so the package cannot be set in it; "
                             "check base_url (a Deploy API v4 URL) and the environment in the Mendix Portal."
                             % (where, " and no ".join(missing)), changed=False)
    before = summary(manifest)
    previous = before["package_id"]
    if previous != package_id:
        check_package(module, client, app_id, package_id)
    diff = {"before": {"package_id": previous}, "after": {"package_id": package_id}}
    if previous == package_id:
        module.exit_json(changed=False, package_id=package_id, previous_package_id=previous, environment=before, diff=diff)
    if module.check_mode:
        after = dict(before, package_id=package_id)
        module.exit_json(changed=True, package_id=package_id, previous_package_id=previous, environment=after, diff=diff)

    jobs = []
    manifest["environment"]["deployment"]["packageId"] = package_id
    try:
        job = client.put_environment(app_id, ns, env_id, manifest)
        if not p["wait"]:
            module.exit_json(changed=True, package_id=package_id, previous_package_id=previous, environment=summary(manifest),
                             jobs=[snake(job)], diff=diff)
        jobs.append(wait_job(module, job, "deploying package_id=%s to %s" % (package_id, where),
                             " Check that package_id is a deployment package of this app."))
        if p["restart"]:
            instances = int(before["instances"] or 0) or int(manifest["environment"]["container"].get("lastRunningInstanceCount") or 1)
            for count, step in ((0, "stopping"), (instances, "starting")):
                current = client.get_environment(app_id, ns, env_id)
                current["environment"]["container"]["instances"] = count
                job = client.put_environment(app_id, ns, env_id, current)
                jobs.append(wait_job(module, job, "%s the app (instances=%s) in %s" % (step, count, where)))
        final = client.get_environment(app_id, ns, env_id)
    except MendixApiError as exc:
        module.fail_api(exc, changed=bool(jobs), jobs=jobs)
    after = summary(final)
    if after["package_id"] != package_id:
        module.fail_json(msg="The update job finished but the environment runs package %s, not package_id=%s"
                             % (after["package_id"], package_id), changed=True, jobs=jobs, environment=after)
    module.exit_json(changed=True, package_id=package_id, previous_package_id=previous, environment=after, jobs=jobs, diff=diff)


def manifest_gaps(manifest):
    """The parts of an environment manifest a deploy needs and the answer lacks."""
    env = manifest.get("environment") if isinstance(manifest, dict) else None
    if not isinstance(env, dict):
        return ["environment"]
    return ["environment.%s" % key for key in ("deployment", "container") if not isinstance(env.get(key), dict)]


def check_package(module, client, app_id, package_id):
    """Fail before any write when package_id is not a package of the app (when the token may read packages)."""
    try:
        found = client.get_package(app_id, package_id, missing_ok=True)
    except MendixApiError as exc:
        if exc.status in (401, 403):
            module.warn("Cannot check that package_id=%s exists: the token cannot read deployment packages (%s). The "
                        "Deploy API checks it when the environment is updated." % (package_id, exc.message))
            return
        module.fail_api(exc, changed=False)
    if found is None:
        module.fail_json(msg="package_id=%s is not a deployment package of app_id=%s; give the id of a package of this app "
                             "(see mendix.private_cloud.mx_package_info)." % (package_id, app_id), changed=False)


def wait_job(module, job, what, hint=""):
    try:
        result = module.waiter(scopes=SCOPES_DEPLOY_READ).wait(job["id"])
    except JobFailed as exc:
        module.fail_json(msg="Failed %s: %s.%s" % (what, exc.message, hint),
                         changed=True, job=snake(exc.result.get("job")))
    except JobTimeout as exc:
        module.fail_json(msg="Timed out %s: %s" % (what, exc.message), changed=True, job=snake(exc.result.get("job")))
    out = snake(result["job"]) or {}
    out.update(elapsed=result["elapsed"], polls=result["polls"], location=job.get("location"))
    return out


if __name__ == "__main__":
    main()

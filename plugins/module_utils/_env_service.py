# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The environment service: the whole change of an environment, for every module that changes one.

read -> (the module decides) -> record what runs -> PUT -> wait for the job -> wait for Ready -> health check ->
verify what was asked is what runs -> roll back. The modules (mx_deployment, mx_environment) decide what to write and
report the outcome; the failure paths, the restart recipe, the rollback and the record that retention reads exist
here once.

The record: before it writes a new package, the service writes, in the job journal's folder, which package and how
many instances the environment had and which package it is given. mx_package_prune keeps both packages, so that a
rollback always finds its package. A deploy made by another tool, or from a controller that shares no journal
folder, leaves no record: retention cannot see it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re
import time

from ansible.module_utils.six.moves.urllib.parse import urljoin

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import SCOPES_DEPLOY_READ, MendixApiError, is_app_missing
from ansible_collections.mendix.private_cloud.plugins.module_utils._jobs import TRANSIENT_STATUSES, JobFailed, JobTimeout, Poller
from ansible_collections.mendix.private_cloud.plugins.module_utils._journal import Journal, LockTimeout, identity_key
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import snake

READY = "Ready"
FAILED = "Failed"
PROCESSING = "Processing"
BODY_LIMIT = 64 * 1024
RECORD = ".deployed"


class DeployFailed(Exception):
    """The environment did not end as asked: the message says what failed and where the environment is."""

    def __init__(self, message, state=None):
        super(DeployFailed, self).__init__(message)
        self.message = message
        self.state = state


def container(manifest):
    """(packageId, container.state) of a manifest."""
    env = (manifest or {}).get("environment") or {}
    return (env.get("deployment") or {}).get("packageId"), (env.get("container") or {}).get("state")


def summary(manifest):
    """What runs: id, package, instances, state, appUrl."""
    env = (manifest or {}).get("environment") or {}
    deployment = env.get("deployment") or {}
    box = env.get("container") or {}
    out = {"id": env.get("id"), "package_id": deployment.get("packageId"), "instances": box.get("instances"),
           "app_url": deployment.get("appUrl")}
    if box.get("state"):
        out["state"] = box["state"]
    return out


def instances_of(manifest):
    return int((((manifest or {}).get("environment") or {}).get("container") or {}).get("instances") or 0)


def health_url(url, app_url):
    """An absolute health check URL: as given, or a path under the environment's appUrl."""
    if re.match(r"^https?://", url or "", re.IGNORECASE):
        return url
    if not app_url or not re.match(r"^https?://", app_url, re.IGNORECASE):
        raise DeployFailed("health_check_url %s is a path, but the environment has no http(s) appUrl to put it under "
                           "(appUrl %r); give an absolute URL" % (url, app_url))
    return urljoin(app_url.rstrip("/") + "/", url.lstrip("/"))


def check_health(client, url, status, contains, timeout, max_interval):
    """Poll ``url`` through the client's transport (never with the API token) until it answers ``status`` and its
    first 64 KiB hold ``contains``. Returns (seconds, polls); DeployFailed at the deadline, saying what the last answer
    was. Each probe ends within what is left of ``timeout``, so a server that trickles cannot hold the task."""
    last = {"what": "no answer yet"}
    poller = Poller(timeout, 1.0, max_interval)

    def probe():
        left = timeout - poller.elapsed()
        try:
            code, body = client.probe(url, max(0.1, left), BODY_LIMIT)
        except MendixApiError as exc:
            if exc.status == -1:
                raise DeployFailed("health check %s: %s" % (url, exc.message))
            last["what"] = "no complete answer (%s)" % exc.message
            return None
        if code != status:
            last["what"] = "HTTP %s" % code
            return None
        if contains and contains not in body:
            last["what"] = "HTTP %s without %r in the body" % (code, contains)
            return None
        return True

    dummy, timed_out = poller.run(probe)
    if timed_out:
        wanted = "HTTP %s" % status + (" with %r in the body" % contains if contains else "")
        raise DeployFailed("the health check %s did not answer %s within %d seconds (last: %s)"
                           % (url, wanted, round(timeout), last["what"]))
    return poller.elapsed(), poller.polls


def check_package(module, client, app_id, package_id, done_to_environment):
    """Fail before any write when package_id is not a package of the app (when the token may read packages);
    ``done_to_environment`` says what the write does (updated, created) for the warning when it cannot be checked."""
    try:
        found = client.get_package(app_id, package_id, missing_ok=True)
    except MendixApiError as exc:
        if exc.status in (401, 403):
            module.warn("Cannot check that package_id=%s exists: the token cannot read deployment packages (%s). The "
                        "Deploy API checks it when the environment is %s." % (package_id, exc.message, done_to_environment))
            return
        module.fail_api(exc, changed=False)
    if found is None:
        module.fail_json(msg="package_id=%s is not a deployment package of app_id=%s; give the id of a package of this app "
                             "(see mendix.private_cloud.mx_package_info)." % (package_id, app_id), changed=False)


def record_key(base_url, app_id, ns, env_id):
    """The journal key of an environment: its lock and its deploy record."""
    return identity_key((base_url, app_id, "deploy", ns, env_id))


def read_record(journal_dir, base_url, app_id, ns, env_id):
    """The deploy record of an environment (previous_package_id, package_id, previous_instances, written), or None."""
    return Journal(journal_dir).get_record(record_key(base_url, app_id, ns, env_id) + RECORD)


class Outcome(object):
    """What a change of an environment came to, for the module to report as it is: ``failed``, ``changed``, ``msg``
    (on failure) and the result's fields."""

    def __init__(self, changed, failed=False, msg=None, **result):
        self.changed = changed
        self.failed = failed
        self.msg = msg
        self.result = result

    def report(self, module):
        """exit_json or fail_json with the outcome."""
        if self.failed:
            module.fail_json(msg=self.msg, changed=self.changed, **self.result)
        module.exit_json(changed=self.changed, **self.result)


class EnvironmentService(object):
    """One environment of one app, changed by one task. ``jobs`` and ``notes`` collect what was done, for the result.

    Every method raises DeployFailed (or lets MendixApiError through) on failure; the module reports it."""

    def __init__(self, module, app_id, ns, env_id):
        self.module = module
        self.p = module.params
        self.client = module.client
        self.app_id, self.ns, self.env_id = app_id, ns, env_id
        self.where = "environment_id=%s in namespace_id=%s of app_id=%s" % (env_id, ns, app_id)
        self.jobs = []
        self.notes = []
        self.ready = None
        self.health = None
        self.pending = None  # the job of an update that did not end in time
        self.journal = Journal(self.p.get("job_journal_dir"))
        self.key = record_key(self.client.base_url, app_id, ns, env_id)

    # ------------------------------------------------------------------ lock
    def lock(self):
        """One change to an environment at a time from this controller (deploys, settings, prune's reads)."""
        return self.journal.lock(self.key, self.module.time_left(self.p["wait_timeout"]))

    # ------------------------------------------------------------------ read
    def read(self, missing_ok=False):
        """The manifest; None for a missing environment with ``missing_ok``. An unknown app is named first, apart
        from a missing environment."""
        try:
            manifest = self.client.get_environment(self.app_id, self.ns, self.env_id)
        except MendixApiError as exc:
            if exc.status == 404 and is_app_missing(exc):
                raise DeployFailed("app_id=%s is not found or not visible to this token: check app_id (the App ID shown "
                                   "in the Mendix Portal) and that the token's user is a member of the app. (%s)"
                                   % (self.app_id, exc.message))
            if exc.status == 404 and missing_ok:
                return None
            if exc.status == 404:
                raise DeployFailed("The environment was not found: %s. Check environment_id (the environment's ID, not "
                                   "its name) and namespace_id. (%s)" % (self.where, exc.message))
            raise
        env = manifest.get("environment") if isinstance(manifest, dict) else None
        gaps = ["environment"] if not isinstance(env, dict) else [
            "environment.%s" % key for key in ("deployment", "container") if not isinstance(env.get(key), dict)]
        if gaps:
            raise DeployFailed("The manifest the Deploy API gave for %s has no %s; check base_url (a Deploy API v4 URL) "
                               "and the environment in the Mendix Portal." % (self.where, " and no ".join(gaps)))
        return manifest

    def running_package(self, allow_stopped=False, id_option="environment_id", ns_option="namespace_id"):
        """The package the environment runs: only when it is Ready with it and has instances (0 instances too with
        ``allow_stopped``). DeployFailed naming its state and package otherwise (a promotion's source check)."""
        where = "%s=%s in %s=%s" % (id_option, self.env_id, ns_option, self.ns)
        try:
            manifest = self.read()
        except DeployFailed as exc:
            if exc.message.startswith("The environment was not found"):
                raise DeployFailed("The source environment was not found: %s. Check %s (the environment's ID, not its "
                                   "name) and %s." % (where, id_option, ns_option))
            raise
        running, state = container(manifest)
        if not running:
            raise DeployFailed("The source environment %s runs no package, so there is nothing to promote." % where)
        if state != READY:
            raise DeployFailed("The source environment %s is %s with package %s: only a package the source runs (Ready) "
                               "is promoted. Fix or finish the source's deploy first."
                               % (where, state or "in no known state", running))
        if instances_of(manifest) == 0 and not allow_stopped:
            raise DeployFailed("The source environment %s is stopped (0 instances) with package %s: nothing proves the "
                               "package runs. Start the source, or set source_allow_stopped: true to promote it anyway."
                               % (where, running))
        return str(running).lower()

    # ------------------------------------------------------------------ write
    def record(self, before, package_id):
        """Record, before a write, what ran and what is about to run (retention keeps both)."""
        self.journal.put_record(self.key + RECORD, {
            "app_id": self.app_id, "namespace_id": self.ns, "environment_id": self.env_id,
            "previous_package_id": (before.get("package_id") or None), "previous_instances": before.get("instances"),
            "package_id": package_id})

    def put(self, manifest, what, wait=True):
        """PUT the whole manifest; wait for its job unless ``wait`` is false. Returns the job as the result shows it."""
        job = self.client.put_environment(self.app_id, self.ns, self.env_id, manifest)
        if not wait:
            self.jobs.append(snake(job))
            return self.jobs[-1]
        return self.wait_job(job, what)

    def create(self, manifest, what):
        job = self.client.create_environment(self.app_id, manifest)
        if not self.p["wait"]:
            self.jobs.append(snake(job))
            return self.jobs[-1]
        return self.wait_job(job, what)

    def delete(self, what):
        job = self.client.delete_environment(self.app_id, self.ns, self.env_id)
        if not self.p["wait"]:
            self.jobs.append(snake(job))
            return self.jobs[-1]
        return self.wait_job(job, what)

    def wait_job(self, job, what, hint=""):
        """Wait for a Deploy API job within the task's time. A job that does not end in time is remembered as pending
        (an update that may still land): a rollback waits for it or supersedes it."""
        try:
            result = self.module.waiter(scopes=SCOPES_DEPLOY_READ).wait(job["id"])
        except JobFailed as exc:
            raise DeployFailed("failed %s: %s%s" % (what, exc.message, hint))
        except JobTimeout as exc:
            self.pending = job
            raise DeployFailed("timed out %s: %s" % (what, exc.message))
        out = snake(result["job"]) or {}
        out.update(elapsed=result["elapsed"], polls=result["polls"], location=job.get("location"))
        self.jobs.append(out)
        return out

    def restart(self, manifest, instances, secrets_body=None):
        """The Deploy documentation's restart recipe: instances 0, wait; instances N, wait. ``manifest`` is written
        in both steps (with ``secrets_body`` applied to the first one's copy, when given)."""
        stopped = copy.deepcopy(manifest)
        stopped["environment"]["container"]["instances"] = 0
        if secrets_body:
            secrets_body(stopped)
        self.put(stopped, "stopping the app (instances 0) in %s" % self.where)
        started = copy.deepcopy(manifest)
        started["environment"]["container"]["instances"] = instances
        self.put(started, "starting the app (instances %d) in %s" % (instances, self.where))

    # ------------------------------------------------------------------ after a write
    def wait_ready(self, package_id, timeout=None):
        """Poll the manifest until the container is Ready with ``package_id``; DeployFailed on Failed or at the
        deadline. Returns the manifest; ``ready`` holds the seconds and polls."""
        seen = {"state": None, "package_id": None}
        timeout = self.module.time_left(self.p["wait_timeout"]) if timeout is None else timeout

        def probe():
            try:
                manifest = self.client.get_environment(self.app_id, self.ns, self.env_id)
            except MendixApiError as exc:
                if exc.status in TRANSIENT_STATUSES:
                    return None
                raise
            running, state = container(manifest)
            seen.update(state=state, package_id=running)
            if state == FAILED or (state == READY and running == package_id):
                return manifest
            return None

        poller = Poller(timeout, 1.0, self.p["wait_max_interval"])
        manifest, timed_out = poller.run(probe)
        if timed_out:
            raise DeployFailed("the environment was not Ready with package %s within %d seconds (last state %s, package "
                               "%s)" % (package_id, round(timeout), seen["state"], seen["package_id"]), seen["state"])
        if container(manifest)[1] == FAILED:
            raise DeployFailed("the environment's state is Failed: the app did not start with package %s. Look at the "
                               "environment's logs and events in the Mendix Portal (or kubectl describe on the cluster)"
                               % package_id, FAILED)
        self.ready = dict(elapsed=round(poller.elapsed(), 3), polls=poller.polls)
        return manifest

    def check_health(self, app_url):
        """The health check of the module's options (health_check_url, _status, _contains), when one is asked for."""
        p = self.p
        if not p.get("health_check_url"):
            return
        url = health_url(p["health_check_url"], app_url or "")
        seconds, polls = check_health(self.client, url, p["health_check_status"], p.get("health_check_contains"),
                                      self.module.time_left(p["wait_timeout"]), p["wait_max_interval"])
        self.health = dict(url=url, elapsed=round(seconds, 3), polls=polls)

    def settle(self, package_id, instances, app_url, waited_before=True):
        """Wait until the environment runs ``package_id`` (Ready) when it has instances, then the health check."""
        if instances == 0:
            self.notes.append("The app has no instances, so it was not waited on to be Ready.")
        elif waited_before:
            self.wait_ready(package_id)
        self.check_health(app_url)

    def verify(self, package_id, instances=None):
        """A fresh read: the environment runs ``package_id`` (with ``instances``, when given); DeployFailed saying
        where it is otherwise. Returns the manifest."""
        final = self.read()
        running, state = container(final)
        now = instances_of(final)
        if running != package_id or (instances is not None and now != instances):
            raise DeployFailed("the jobs finished but the environment runs package %s with %d instances (state %s), not "
                               "package_id=%s%s" % (running, now, state, package_id,
                                                    "" if instances is None else " with %d instances" % instances))
        return final

    # ------------------------------------------------------------------ a deploy
    def deploy(self, package_id, restart=False, rollback_on_failure=False):
        """Run ``package_id`` in the environment: read; when it is not there yet, record, PUT, wait for the job,
        restart when asked, wait for Ready, check health, verify with a fresh read, and roll back on failure when
        asked. Returns an Outcome; never raises for what the API does."""
        module, p = self.module, self.p
        result = dict(package_id=package_id, rolled_back=False, jobs=self.jobs, notes=self.notes)
        try:
            manifest = self.read()
        except (DeployFailed, MendixApiError) as exc:
            return Outcome(False, True, exc.message, status_code=getattr(exc, "status", None), **result)
        before = summary(manifest)
        previous = before["package_id"]
        result.update(previous_package_id=previous,
                      diff={"before": {"package_id": previous}, "after": {"package_id": package_id}})
        if previous == package_id:
            return self._unchanged(before, result)
        check_package(module, self.client, self.app_id, package_id, "updated")
        if module.check_mode:
            return Outcome(True, environment=dict(before, package_id=package_id), **result)
        self.record(before, package_id)
        manifest["environment"]["deployment"]["packageId"] = package_id
        try:
            self.put(manifest, "deploying package_id=%s to %s" % (package_id, self.where), wait=p["wait"])
            if not p["wait"]:
                return Outcome(True, environment=summary(manifest), **result)
            instances = int(before["instances"] or 0)
            if restart and instances == 0:
                self.notes.append("The app was stopped (instances 0) before the change, so it was not restarted.")
            elif restart:
                self.restart(self.read(), instances)
            self.settle(package_id, instances, before.get("app_url"))
            final = self.verify(package_id, instances)
        except (DeployFailed, MendixApiError) as exc:
            if isinstance(exc, MendixApiError) and not self.jobs and not exc.uncertain:
                return Outcome(False, True, exc.message, status_code=exc.status, **result)
            return self._failed(exc, before, package_id, rollback_on_failure, result)
        return Outcome(True, environment=summary(final), **self._waits(result))

    def _waits(self, result):
        if self.ready:
            result["ready"] = self.ready
        if self.health:
            result["health_check"] = self.health
        return result

    def _unchanged(self, before, result):
        """The environment already has the package: nothing to write, but the task still ends when it runs (a re-run
        after a timed-out start). One GET when it is Ready and no health check is asked for."""
        package_id = result["package_id"]
        if self.p["wait"] and not self.module.check_mode:
            try:
                if int(before["instances"] or 0) > 0 and before.get("state") != READY:
                    before = summary(self.wait_ready(package_id))
                elif int(before["instances"] or 0) == 0:
                    self.notes.append("The app has no instances, so it was not waited on to be Ready.")
                self.check_health(before.get("app_url"))
            except (DeployFailed, MendixApiError) as exc:
                return Outcome(False, True, "The environment already runs package_id=%s (%s): %s"
                               % (package_id, self.where, exc.message), environment=before, **self._waits(result))
        return Outcome(False, environment=before, **self._waits(result))

    def _where_now(self, result):
        """What runs now, for a failure's result and message; the package asked for stays when it cannot be read."""
        try:
            now = summary(self.read())
        except (DeployFailed, MendixApiError):
            return None
        result["package_id"] = now["package_id"]
        return now

    def _failed(self, exc, before, package_id, rollback_on_failure, result):
        """A failed deploy's Outcome, after a rollback when one is asked for and possible."""
        message = "Deploying package_id=%s to %s: %s" % (package_id, self.where, getattr(exc, "message", exc))
        previous = before["package_id"]
        self._waits(result)
        if not rollback_on_failure or not previous:
            if rollback_on_failure:
                message += ". Nothing to roll back to: the environment ran no package before."
            return Outcome(True, True, message, environment=self._where_now(result), **result)
        try:
            final = self.rollback(before)
        except (DeployFailed, MendixApiError) as again:
            now = self._where_now(result)
            where = ("the environment now runs package %s with %s instances (state %s)"
                     % (now["package_id"], now["instances"], now.get("state")) if now else "its state could not be read")
            return Outcome(True, True, "%s. The rollback to package %s with %s instances failed too: %s; %s."
                           % (message, previous, before["instances"], getattr(again, "message", again), where),
                           environment=now, rollback_package_id=previous, **result)
        result.update(package_id=previous, rolled_back=True)
        return Outcome(True, True, "%s. Rolled back: the environment runs package %s again with %s instances%s, checked by "
                       "a fresh read. A rollback does not undo database changes the new package made when it started."
                       % (message, previous, before["instances"], " (Ready)" if int(before["instances"] or 0) else ""),
                       environment=summary(final), rollback_package_id=previous, **result)

    # ------------------------------------------------------------------ rollback
    def rollback(self, before):
        """Put back what ran before (``before``: summary of the manifest read first): its package and its instance
        count, then verify with a fresh read after Ready. Gets a wait_timeout of its own. An update that did not end
        in time is waited for (half the rollback's time at most), then superseded. Returns the final manifest;
        DeployFailed saying exactly where the environment is when the rollback does not end where it started."""
        module = self.module
        module.started = time.monotonic()
        self.client.deadline = module.deadline()
        package_id, instances = before["package_id"], int(before.get("instances") or 0)
        if self.pending is not None:
            try:
                result = module.waiter(timeout=module.time_left(self.p["wait_timeout"]) / 2.0,
                                       scopes=SCOPES_DEPLOY_READ).wait(self.pending["id"])
                self.notes.append("The update that had not ended in time ended (%s) before the rollback."
                                  % (result["job"] or {}).get("status"))
            except JobFailed:
                self.notes.append("The update that had not ended in time failed before the rollback.")
            except JobTimeout:
                self.notes.append("The update that had not ended in time was still running; the rollback superseded it.")
            self.pending = None
        current = self.read()
        if container(current)[0] != package_id or instances_of(current) != instances:
            current["environment"]["deployment"]["packageId"] = package_id
            current["environment"]["container"]["instances"] = instances
            self.put(current, "rolling back to package_id=%s with %d instances in %s" % (package_id, instances, self.where))
        if instances > 0:
            self.wait_ready(package_id)
        final = self.verify(package_id, instances)
        if instances > 0 and container(final)[1] != READY:
            raise DeployFailed("after the rollback the environment runs package %s but its state is %s"
                               % (package_id, container(final)[1]))
        return final


__all__ = ["DeployFailed", "EnvironmentService", "LockTimeout", "Outcome", "check_health", "check_package", "container", "health_url",
           "read_record", "summary", "READY", "FAILED", "PROCESSING"]

# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""After a deploy: wait until the environment runs the package (container state Ready), and check the app answers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.six.moves.urllib.parse import urljoin

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import SCOPES_DEPLOY_READ, MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._jobs import TRANSIENT_STATUSES, JobFailed, JobTimeout, Poller

from ansible_collections.mendix.private_cloud.plugins.module_utils._module import snake

try:
    import requests
except ImportError:  # the module reports the missing library before this is used
    requests = None

READY = "Ready"
FAILED = "Failed"
BODY_LIMIT = 64 * 1024


class DeployFailed(Exception):
    """The environment did not end running the package, or the app did not answer as asked."""

    def __init__(self, message, state=None):
        super(DeployFailed, self).__init__(message)
        self.message = message
        self.state = state


def wait_deploy_job(module, job, what, hint=""):
    """Wait for a Deploy API job (an environment's update, create or delete) within the task's time; DeployFailed
    saying ``what`` was being done when it fails or times out. Returns the job for the result (snake_case, with
    elapsed, polls and location)."""
    try:
        result = module.waiter(scopes=SCOPES_DEPLOY_READ).wait(job["id"])
    except JobFailed as exc:
        raise DeployFailed("failed %s: %s%s" % (what, exc.message, hint))
    except JobTimeout as exc:
        raise DeployFailed("timed out %s: %s" % (what, exc.message))
    out = snake(result["job"]) or {}
    out.update(elapsed=result["elapsed"], polls=result["polls"], location=job.get("location"))
    return out


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


def container(manifest):
    env = (manifest or {}).get("environment") or {}
    return (env.get("deployment") or {}).get("packageId"), (env.get("container") or {}).get("state")


def wait_ready(client, app_id, ns, env_id, package_id, timeout, max_interval):
    """Poll the manifest until the container is Ready with ``package_id``; DeployFailed on Failed or at the deadline.
    Returns (manifest, seconds waited, polls)."""
    seen = {"state": None, "package_id": None}

    def probe():
        try:
            manifest = client.get_environment(app_id, ns, env_id)
        except MendixApiError as exc:
            if exc.status in TRANSIENT_STATUSES:
                return None
            raise
        running, state = container(manifest)
        seen.update(state=state, package_id=running)
        if state == FAILED:
            return manifest
        if state == READY and running == package_id:
            return manifest
        return None

    poller = Poller(timeout, 1.0, max_interval)
    manifest, timed_out = poller.run(probe)
    if timed_out:
        raise DeployFailed("the environment was not Ready with package %s within %d seconds (last state %s, package %s)"
                           % (package_id, round(timeout), seen["state"], seen["package_id"]), seen["state"])
    if container(manifest)[1] == FAILED:
        raise DeployFailed("the environment's state is Failed: the app did not start with package %s. Look at the "
                           "environment's logs and events in the Mendix Portal (or kubectl describe on the cluster)"
                           % package_id, FAILED)
    return manifest, poller.elapsed(), poller.polls


def health_url(url, app_url):
    """An absolute health check URL: as given, or a path under the environment's appUrl."""
    if re.match(r"^https?://", url or "", re.IGNORECASE):
        return url
    if not app_url or not re.match(r"^https?://", app_url, re.IGNORECASE):
        raise DeployFailed("health_check_url %s is a path, but the environment has no http(s) appUrl to put it under "
                           "(appUrl %r); give an absolute URL" % (url, app_url))
    return urljoin(app_url.rstrip("/") + "/", url.lstrip("/"))


def check_health(url, status, contains, verify, request_timeout, timeout, max_interval):
    """Poll ``url`` (never with the API token) until it answers ``status`` and its body holds ``contains``.
    Returns (seconds, polls); DeployFailed at the deadline, saying what the last answer was."""
    session = requests.Session()
    session.headers["User-Agent"] = "mendix.private_cloud-health-check"
    last = {"what": "no answer yet"}

    def probe():
        try:
            resp = session.get(url, timeout=min(request_timeout, max(1.0, timeout)), verify=verify, stream=True)
            try:
                body = resp.raw.read(BODY_LIMIT, decode_content=True).decode("utf-8", "replace")
            finally:
                resp.close()
        except requests.exceptions.SSLError as exc:
            raise DeployFailed("health check %s: TLS certificate verification failed (%s); set ca_path to the CA bundle "
                               "that signed the app's certificate, or validate_certs: false" % (url, exc))
        except requests.exceptions.RequestException as exc:
            last["what"] = "no answer (%s)" % type(exc).__name__
            return None
        if resp.status_code != status:
            last["what"] = "HTTP %s" % resp.status_code
            return None
        if contains and contains not in body:
            last["what"] = "HTTP %s without %r in the body" % (resp.status_code, contains)
            return None
        return True

    poller = Poller(timeout, 1.0, max_interval)
    dummy, timed_out = poller.run(probe)
    if timed_out:
        wanted = "HTTP %s" % status + (" with %r in the body" % contains if contains else "")
        raise DeployFailed("the health check %s did not answer %s within %d seconds (last: %s)"
                           % (url, wanted, round(timeout), last["what"]))
    return poller.elapsed(), poller.polls

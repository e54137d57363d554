# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Module base: the shared argument spec, the client, input checks and error reporting."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time
import zipfile

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import (
    DEFAULT_BASE_URL,
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    Client,
    MendixApiError,
    is_app_missing,
)
from ansible_collections.mendix.private_cloud.plugins.module_utils._jobs import JobFailed, JobTimeout, JobWaiter
from ansible_collections.mendix.private_cloud.plugins.module_utils._output import snake
from ansible_collections.mendix.private_cloud.plugins.module_utils._repository import DEFAULT_REPOSITORY_URL, RepositoryClient

CONNECTION_ARGSPEC = dict(
    base_url=dict(type="str", default=DEFAULT_BASE_URL, fallback=(env_fallback, ["MENDIX_PRIVATE_CLOUD_URL"])),
    repository_url=dict(type="str", default=DEFAULT_REPOSITORY_URL, fallback=(env_fallback, ["MENDIX_REPOSITORY_URL"])),
    token=dict(type="str", no_log=True, aliases=["pat"], fallback=(env_fallback, ["MENDIX_PAT"])),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    request_timeout=dict(type="float", default=30),
    retries=dict(type="int", default=5),
)

WAIT_ARGSPEC = dict(
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=1200),
    wait_max_interval=dict(type="float", default=30),
)

WHERE_TO_RUN = ("The modules of mendix.private_cloud call the Mendix API and are meant to run on the Ansible controller: "
                "add delegate_to: localhost to the task (or run the play on localhost), or install the Python library "
                "requests for the interpreter this host uses.")

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")


# ---------------------------------------------------------------------- input checks (pure, before any call)
def plain_http_off_loopback(url):
    """Whether base_url is http:// to a host other than this machine (the token would travel unencrypted)."""
    match = re.match(r"^http://(\[[^\]]+\]|[^/:]+)", url or "", re.IGNORECASE)
    if not match:
        return False
    host = match.group(1).strip("[]").lower()
    return not (host == "localhost" or host == "::1" or host.startswith("127."))


def check_uuid(name, value, what="a UUID such as c533ee0b-f7db-4e62-868b-1192d392ccec"):
    if value is None or not UUID_RE.match(str(value)):
        return ["%s must be %s, got %r" % (name, what, value)]
    return []


def check_length(name, value, low, high, hint=""):
    if value is None or not low <= len(value) <= high:
        got = "nothing" if value is None else "%d characters" % len(value)
        return ["%s must be %d to %d characters%s, got %s" % (name, low, high, hint, got)]
    return []


def check_build(branch, revision, version, head_ok=False):
    """A build's branch, revision and version; with head_ok, no revision means the branch's head."""
    errors = []
    errors += check_length("branch", branch, 1, 200, " (for SVN apps the main line is trunk)")
    if revision is not None or not head_ok:
        errors += check_length("revision", revision, 1, 50, " (an SVN revision number or a git commit hash)")
    if version is not None:
        errors += check_version("version", version)
    return errors


def check_version(name, value):
    """A version in x.y.z format."""
    if len(value) > 20 or not VERSION_RE.match(value):
        return ["%s must be in x.y.z format with at most 20 characters, for example 1.2.3; got %r" % (name, value)]
    return []


def check_src(src):
    """The upload source exists, is a readable non-empty regular file and a zip archive (an .mda)."""
    if not src:
        return ["src must be the path of an .mda file"]
    if not os.path.exists(src):
        return ["src %s does not exist; give the path of an .mda file on the controller" % src]
    if os.path.isdir(src):
        return ["src %s is a directory; give the path of an .mda file" % src]
    if not os.access(src, os.R_OK):
        return ["src %s is not readable; check its permissions" % src]
    if os.path.getsize(src) == 0:
        return ["src %s is empty; an .mda file is a zip archive built by Mendix" % src]
    try:
        is_zip = zipfile.is_zipfile(src)
    except (IOError, OSError) as exc:
        return ["src %s cannot be read: %s" % (src, exc)]
    if not is_zip:
        return ["src %s is not a zip archive; an .mda deployment package is a zip file built by Mendix" % src]
    return []


def check_file_name(file_name):
    if file_name is not None and (not file_name or "/" in file_name or "\\" in file_name or len(file_name) > 255):
        return ["file_name must be a plain file name without a path, 1 to 255 characters; got %r" % file_name]
    return []


# ---------------------------------------------------------------------- results
def job_report(started=None, waited=None):
    """The one shape of ``job`` in every result, on success and on failure.

    ``started`` is the job as the 202 answer gave it (with ``location``), ``waited`` what the waiter saw (its
    ``result``, also carried by JobFailed and JobTimeout). Keys: id, status, details, location, package_id, error,
    elapsed and polls (None when not waited), log_tail (for a failed build, when the log could be read).
    """
    started = started or {}
    waited = waited or {}
    raw = waited.get("job") or {}
    error = raw.get("error") or started.get("error")
    return {
        "id": waited.get("id") or started.get("id"),
        "status": waited.get("status") or raw.get("status") or started.get("status"),
        "details": raw.get("details") or started.get("details"),
        "location": started.get("location"),
        "package_id": waited.get("package_id") or raw.get("packageId") or started.get("packageId"),
        "error": snake(error) if error else None,
        "elapsed": waited.get("elapsed"),
        "polls": waited.get("polls"),
        "log_tail": waited.get("log_tail"),
    }


def package_summary(pkg):
    """The fields of a package that diff mode shows."""
    if not pkg:
        return {}
    keys = ("id", "modelVersion", "fileName", "fileSize", "runtimeVersion", "createdOn", "description")
    return snake(dict((k, pkg.get(k)) for k in keys if pkg.get(k) is not None))


# ---------------------------------------------------------------------- module base
class MendixModule(AnsibleModule):
    """AnsibleModule with the connection options (and optionally the wait options) merged in."""

    def __init__(self, argument_spec, wait=False, **kwargs):
        spec = dict(CONNECTION_ARGSPEC)
        if wait:
            spec.update(WAIT_ARGSPEC)
        spec.update(argument_spec)
        self.started = time.monotonic()
        super(MendixModule, self).__init__(argument_spec=spec, **kwargs)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests") + " " + WHERE_TO_RUN, exception=REQUESTS_IMPORT_ERROR)
        self._client = None
        self._repository = None
        self.connections = 10  # calls that may be in flight at once from threads: a connection each, kept for reuse

    def wait_errors(self):
        """What is wrong with the shared wait options, if the module has them (checked with the module's own)."""
        timeout = self.params.get("wait_timeout")
        if timeout is not None and timeout <= 0:
            return ["wait_timeout must be more than 0 seconds"]
        return []

    def fail_on(self, errors, **result):
        """Fail with every input error at once, before any API call."""
        if errors:
            self.fail_json(msg="Invalid input: " + "; ".join(errors), **result)

    @property
    def client(self):
        if self._client is None:
            p = self.params
            errors = []
            if not p.get("token"):
                errors.append("token is required: set the token option or the MENDIX_PAT environment variable to a "
                              "Mendix Personal Access Token")
            url = p.get("base_url") or ""
            if not re.match(r"^https?://[^/]+", url):
                errors.append("base_url must be an http(s) URL such as %s, got %r" % (DEFAULT_BASE_URL, url))
            if p.get("ca_path") and not os.path.isfile(p["ca_path"]):
                errors.append("ca_path %s is not a file; give a PEM CA bundle" % p["ca_path"])
            if p.get("retries") is not None and p["retries"] < 0:
                errors.append("retries must be 0 or more")
            if p.get("request_timeout") is not None and p["request_timeout"] <= 0:
                errors.append("request_timeout must be more than 0 seconds")
            self.fail_on(errors)
            if plain_http_off_loopback(url):
                self.warn("base_url %s is plain http to another host: the token travels unencrypted. Use https." % url)
            self._client = Client(url, p["token"], validate_certs=p["validate_certs"], ca_path=p.get("ca_path"),
                                  timeout=p["request_timeout"], retries=p["retries"], deadline=self.deadline(),
                                  connections=self.connections)
        return self._client

    @property
    def repository(self):
        """The App Repository API client, with the Build API client's token, TLS settings, retries and deadline."""
        if self._repository is None:
            client = self.client
            url = self.params.get("repository_url") or ""
            if not re.match(r"^https?://[^/]+", url):
                self.fail_on(["repository_url must be an http(s) URL such as %s, got %r" % (DEFAULT_REPOSITORY_URL, url)])
            if plain_http_off_loopback(url):
                self.warn("repository_url %s is plain http to another host: the token travels unencrypted. Use https." % url)
            p = self.params
            self._repository = RepositoryClient(url, p["token"], validate_certs=p["validate_certs"], ca_path=p.get("ca_path"),
                                                timeout=p["request_timeout"], retries=p["retries"], deadline=client.deadline)
        return self._repository

    def deadline(self):
        """The task's bound on the monotonic clock: wait_timeout plus one request_timeout after the module started,
        for a module that waits; None for the others, whose every call is bounded on its own."""
        timeout = self.params.get("wait_timeout")
        if not timeout or timeout <= 0:
            return None
        return self.started + timeout + (self.params.get("request_timeout") or 0)

    def time_left(self, default):
        """Seconds a wait may still take: what the task's bound leaves after one more request, at most ``default``."""
        deadline = self.deadline()
        if deadline is None:
            return default
        return max(0.001, min(default, deadline - time.monotonic() - (self.params.get("request_timeout") or 0)))

    def check_connection_input(self):
        """Run the connection checks without a call (they run on first use of the client too)."""
        return self.client

    def waiter(self, timeout=None, initial_interval=1.0, max_interval=None, scopes=None):
        p = self.params
        timeout = self.time_left(timeout if timeout is not None else p["wait_timeout"])
        return JobWaiter(self.client, timeout, initial_interval,
                         max_interval if max_interval is not None else p["wait_max_interval"], scopes=scopes)

    def fail_api(self, exc, **result):
        """Report an API error, a job failure or a timeout."""
        if isinstance(exc, (JobFailed, JobTimeout)):
            result.setdefault("job", job_report(None, exc.result))
            self.fail_json(msg=exc.message, **result)
        if isinstance(exc, MendixApiError):
            if exc.status is not None:
                result.setdefault("status_code", exc.status)
            message = exc.message
            if exc.status == 404 and is_app_missing(exc) and self.params.get("app_id"):
                # an unknown app is said first, not as a missing package, environment or branch
                message = ("app_id=%s is not found or not visible to this token: check app_id (the App ID shown in the "
                           "Mendix Portal) and that the token's user is a member of the app. (%s)"
                           % (self.params["app_id"], message))
            self.fail_json(msg=message, **result)
        self.fail_json(msg=str(exc), **result)

# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The platform service: a cluster or a namespace of the Deploy API (4.13), for the modules that manage them.

read -> (the module decides what to write) -> write (POST, PUT or DELETE) -> wait for the job -> verify with a fresh
read. The modules (mx_cluster, mx_namespace) compare only what they manage: the API's non-editable fields (invitation
status, display names, plan types and configurations, member permissions) are never compared, and the write-only
namespace secret is never returned (the one output filter, ``_output.public``, removes it from every manifest).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import SCOPES_DEPLOY_READ, MendixApiError, quote
from ansible_collections.mendix.private_cloud.plugins.module_utils._jobs import JobFailed, JobTimeout
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import snake
from ansible_collections.mendix.private_cloud.plugins.module_utils._output import public

MANIFEST_VERSION = "2.0.0"


class PlatformFailed(Exception):
    """A change that could not be made or did not hold; the module reports the message."""

    def __init__(self, message):
        super(PlatformFailed, self).__init__(message)
        self.message = message


def cluster_path(cluster_id=None):
    return "/clusters" + ("/%s" % quote(cluster_id) if cluster_id else "")


def namespace_path(cluster_id, namespace_id=None):
    return cluster_path(cluster_id) + "/namespaces" + ("/%s" % quote(namespace_id) if namespace_id else "")


def shown(part):
    """A cluster's or namespace's manifest part as results show it: snake_case, without write-only material."""
    return public(snake(part)) if isinstance(part, dict) else None


class PlatformService(object):
    """One cluster (``kind`` cluster) or namespace (``kind`` namespace) changed by one task. ``jobs`` collects the
    jobs waited for (or started, with wait false), for the result."""

    def __init__(self, module, kind, path, where):
        self.module = module
        self.client = module.client
        self.kind = kind
        self.path = path
        self.where = where
        self.jobs = []

    def read(self, params=None):
        """The manifest's ``cluster`` or ``namespace`` part; None when it does not exist."""
        body = self.client.get_manifest(self.path, missing_ok=True, params=params)
        if body is None:
            return None
        part = body.get(self.kind) if isinstance(body, dict) else None
        if not isinstance(part, dict):
            raise PlatformFailed("The answer to GET %s has no %s manifest; check base_url (a Deploy API v4 URL)."
                                 % (self.path, self.kind))
        return part

    def write(self, method, path, part, what):
        """One write of the manifest part (None for a DELETE); the job waited for unless the task says wait: false."""
        manifest = {"manifestVersion": MANIFEST_VERSION, self.kind: part} if part is not None else None
        job = self.client.write_manifest(method, path, manifest)
        if not self.module.params["wait"]:
            self.jobs.append(snake(job))
            return
        try:
            result = self.module.waiter(scopes=SCOPES_DEPLOY_READ).wait(job["id"])
        except JobFailed as exc:
            raise PlatformFailed("failed %s (%s): %s" % (what, self.where, exc.message))
        except JobTimeout as exc:
            self.jobs.append(snake(job))
            raise PlatformFailed("timed out %s (%s): %s. The job may still end; run the task again to see where it "
                                 "stands." % (what, self.where, exc.message))
        out = snake(result["job"]) or {}
        out.update(elapsed=result["elapsed"], polls=result["polls"], location=job.get("location"))
        self.jobs.append(out)

    def verify(self, differences, params=None):
        """A fresh read after the writes: PlatformFailed naming what does not hold (``differences(part)`` gives the
        names of the fields that differ from what was asked). Returns the part; None when the task did not wait."""
        if not self.module.params["wait"]:
            return None
        after = self.read(params)
        if after is None:
            raise PlatformFailed("After the change, GET %s finds no %s (%s)." % (self.path, self.kind, self.where))
        left = differences(after)
        if left:
            raise PlatformFailed("After the change the %s still differs in %s (%s): someone else may have changed it "
                                 "meanwhile; run the task again." % (self.kind, ", ".join(left), self.where))
        return after

    def gone(self):
        """After a delete: PlatformFailed when the resource is still there (unless the task did not wait)."""
        if self.module.params["wait"] and self.read() is not None:
            raise PlatformFailed("After the delete, GET %s still finds the %s (%s)." % (self.path, self.kind, self.where))


def cli_versions(client):
    """The versions of mxpc-cli (``GET /cli``), snake_case, with the operating systems and architectures as lists."""
    dummy, body, dummy2 = client.request("GET", "/cli", scopes=SCOPES_DEPLOY_READ)
    listed = body.get("cliVersionList") if isinstance(body, dict) else None
    if not isinstance(listed, list):
        raise MendixApiError("GET /cli: the answer has no cliVersionList")
    versions = []
    for entry in listed:
        if not isinstance(entry, dict) or not entry.get("cliVersion"):
            continue
        versions.append({"cli_version": entry["cliVersion"], "operator_version": entry.get("operatorVersion"),
                         "operating_systems": _words(entry.get("availableOperatingSystems")),
                         "architectures": _words(entry.get("availableArchitectures"))})
    return versions


def _words(text):
    return [word.strip() for word in str(text or "").split(",") if word.strip()]


def report_failure(module, exc, **result):
    """The module's failure for a PlatformFailed or an API error."""
    if isinstance(exc, PlatformFailed):
        module.fail_json(msg=exc.message, **result)
    if isinstance(exc, MendixApiError):
        module.fail_api(exc, **result)
    raise exc

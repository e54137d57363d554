# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one job waiter: a monotonic deadline and an adaptive poll interval.

The interval starts at ``initial_interval`` (1 s) and grows with the time already waited, about a tenth of
it, up to ``max_interval`` (30 s): a short job is seen within a second, a ten-minute job costs about 56 polls.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import SCOPES_READ, MendixApiError

TERMINAL = ("finished", "failed")
LOG_TAIL_LINES = 15
JOB_URL_RE = re.compile(r"/jobs/(?P<id>[^/?#]+)/?(?:[?#].*)?$")
TRANSIENT_STATUSES = (None, 429, 500, 502, 503, 504)


class JobFailed(Exception):
    """A job that ended in failure; ``result`` holds what the waiter saw."""

    def __init__(self, message, result):
        super(JobFailed, self).__init__(message)
        self.message = message
        self.result = result


class JobTimeout(Exception):
    """The deadline passed before the job finished; ``result`` holds the last state seen."""

    def __init__(self, message, result):
        super(JobTimeout, self).__init__(message)
        self.message = message
        self.result = result


def next_interval(elapsed, initial_interval=1.0, max_interval=30.0, growth=0.1):
    """Seconds to sleep before the next poll, after ``elapsed`` seconds of waiting."""
    return max(initial_interval, min(max_interval, elapsed * growth))


def job_id_from(ref):
    """A job id from an id or from a job URL (the Location header of a 202)."""
    ref = (ref or "").strip()
    if "://" in ref or ref.startswith("/"):
        match = JOB_URL_RE.search(ref)
        if not match:
            raise ValueError("job_url %r does not end in /jobs/<job id>; pass the Location header of the API's 202 answer" % ref)
        return match.group("id")
    if not ref or "/" in ref:
        raise ValueError("job_id %r is not a job id" % ref)
    return ref


def is_failed(job):
    """A job failed when its status says so or when it carries an error object, whatever its status."""
    return job.get("status") == "failed" or bool(job.get("error"))


def log_tail(text, lines=LOG_TAIL_LINES):
    rows = [r for r in (text or "").splitlines() if r.strip()]
    return "\n".join(rows[-lines:])


class Poller(object):
    """Calls ``probe`` on the adaptive schedule until it returns something or the deadline passes."""

    def __init__(self, timeout, initial_interval=1.0, max_interval=30.0, clock=time.monotonic, sleep=time.sleep):
        self.timeout = float(timeout)
        self.initial_interval = float(initial_interval)
        self.max_interval = float(max_interval)
        self.clock = clock
        self.sleep = sleep
        self.started = None
        self.polls = 0

    def elapsed(self):
        return self.clock() - self.started

    def run(self, probe):
        """Return (value, timed_out): the first non-None value of probe(), or (None, True) at the deadline."""
        self.started = self.clock()
        deadline = self.started + self.timeout
        while True:
            self.polls += 1
            value = probe()
            if value is not None:
                return value, False
            now = self.clock()
            if now >= deadline:
                return None, True
            self.sleep(min(next_interval(now - self.started, self.initial_interval, self.max_interval), deadline - now))


class JobWaiter(object):
    """Wait for a job of the Build or Deploy API to end."""

    def __init__(self, client, timeout, initial_interval=1.0, max_interval=30.0, scopes=None, clock=time.monotonic,
                 sleep=time.sleep):
        self.client = client
        self.timeout = timeout
        self.initial_interval = initial_interval
        self.max_interval = max_interval
        self.scopes = scopes or SCOPES_READ
        self.clock = clock
        self.sleep = sleep
        self.transient_errors = 0

    def wait(self, ref):
        """Return the result dict of a finished job; raise JobFailed or JobTimeout otherwise."""
        job_id = job_id_from(ref)
        poller = Poller(self.timeout, self.initial_interval, self.max_interval, self.clock, self.sleep)
        last = {"job": None, "error": None}

        def probe():
            try:
                job = self.client.get_job(job_id, scopes=self.scopes)
            except MendixApiError as exc:
                if exc.status in TRANSIENT_STATUSES:
                    self.transient_errors += 1
                    last["error"] = exc.message
                    return None
                raise
            last["job"] = job
            if job.get("status") in TERMINAL or is_failed(job):
                return job
            return None

        job, timed_out = poller.run(probe)
        result = {
            "id": job_id,
            "status": (job or last["job"] or {}).get("status"),
            "elapsed": round(poller.elapsed(), 3),
            "polls": poller.polls,
            "package_id": (job or {}).get("packageId"),
            "job": job or last["job"],
        }
        if timed_out:
            seen = result["status"] or "unknown (%s)" % last["error"]
            waited = ("%d" % round(self.timeout)) if self.timeout >= 1 else ("%.1f" % self.timeout)
            raise JobTimeout("job %s did not finish within %s seconds (last status: %s); raise wait_timeout or wait "
                             "again later with mendix.private_cloud.mx_job_wait" % (job_id, waited, seen), result)
        if is_failed(job):
            result["status"] = "failed"
            error = job.get("error") or {}
            message = "job %s failed: %s" % (job_id, error.get("message") or job.get("details") or "no reason given")
            tail = self._log_tail(job_id)
            if tail:
                result["log_tail"] = tail
                message += "\nLast lines of the build log:\n" + tail
            raise JobFailed(message, result)
        return result

    def _log_tail(self, job_id):
        try:
            job = self.client.get_job(job_id, log=True, scopes=self.scopes)
        except MendixApiError:
            return ""
        return log_tail((job.get("log") or {}).get("build"))

# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""HTTP client for the Mendix for Private Cloud Build and Deploy APIs.

One requests Session per client: the MxToken header, retries through urllib3's Retry with jittered
exponential backoff (Retry-After honoured), timeouts, certificate checks and proxies from the
environment. Errors become MendixApiError with one clear message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import random
import re
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from http.client import IncompleteRead

from ansible.module_utils.six.moves.urllib.parse import quote as _quote

from ansible_collections.mendix.private_cloud.plugins.module_utils._identity import newest_first

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import DecodeError, MaxRetryError, ProtocolError, ReadTimeoutError
    from urllib3.util.retry import Retry
    HAS_REQUESTS = True
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
    Retry = HTTPAdapter = object  # pylint: disable=invalid-name

DEFAULT_BASE_URL = "https://privatecloud.mendixcloud.com/api/v4"
USER_AGENT = "mendix.private_cloud-ansible-collection"

# Statuses retried for requests that are safe to repeat (GET, PUT, DELETE, HEAD). 500 is among them: repeating a
# read costs nothing, and an API under maintenance answers 500 as often as 503. A POST is never sent again after an
# answer: the Mendix API documents no 429 and so does not promise that a request answered 429 was not carried out.
RETRY_STATUSES = frozenset([429, 500, 502, 503, 504])
IDEMPOTENT_METHODS = frozenset(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"])
# Answers after which the server may or may not have acted on a POST (a proxy or gateway may answer any of them after
# the API has done the work).
UNCERTAIN_STATUSES = frozenset([429, 500, 502, 503, 504])
# A POST answered with one of these was not carried out (RFC 6585 429, RFC 9110 503): look, wait, send again.
REFUSAL_STATUSES = frozenset([429, 503])

SCOPE_BUILD_READ = "mx:privatecloud-build:read"
SCOPE_BUILD_WRITE = "mx:privatecloud-build:write"
SCOPE_MODELREPO_WRITE = "mx:modelrepository:write"
SCOPE_DEPLOY_READ = "mx:deployment:read"
SCOPE_DEPLOY_WRITE = "mx:deployment:write"

SCOPES_BUILD = "%s and %s" % (SCOPE_BUILD_WRITE, SCOPE_MODELREPO_WRITE)
SCOPES_WRITE = SCOPE_BUILD_WRITE
SCOPES_READ = "%s or %s" % (SCOPE_BUILD_READ, SCOPE_BUILD_WRITE)
SCOPES_DEPLOY_READ = "%s or %s" % (SCOPE_DEPLOY_READ, SCOPE_DEPLOY_WRITE)
SCOPES_DEPLOY_WRITE = SCOPE_DEPLOY_WRITE

CHUNK_SIZE = 1024 * 1024
# The longest Retry-After the client sleeps through; a longer one fails the call, saying how long the API asked for.
RETRY_AFTER_CAP = 60
# The longest pause between two attempts of a call.
BACKOFF_MAX = 30


class MendixApiError(Exception):
    """An API call that did not succeed.

    ``status`` is the HTTP status (None when no answer came), ``uncertain`` tells whether the server may
    have acted on the request although no success answer arrived (a write whose answer was lost). ``refused`` marks
    a POST answered 429 (RFC 6585: a rate limiter) or 503 (RFC 9110: the server is "currently unable to handle the
    request"): not carried out, and ``retry_after`` is the pause the answer asked for, in seconds (None when it gave
    none).
    """

    def __init__(self, message, status=None, body=None, uncertain=False, accepted=False, refused=False, retry_after=None):
        super(MendixApiError, self).__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.uncertain = uncertain
        self.accepted = accepted
        self.refused = refused
        self.retry_after = retry_after


class CallDeadline(Exception):
    """A call ran out of its time bound."""


class DownloadBroken(MendixApiError):
    """A download that could not start or broke off mid-way; it can be resumed."""


class RetryAfterTooLong(Exception):
    """The API asked to wait longer (Retry-After) than the cap or than the time the task has left."""

    def __init__(self, seconds, limit):
        super(RetryAfterTooLong, self).__init__(seconds)
        self.seconds = seconds
        self.limit = limit


class DeadlineRetry(Retry):
    """The one retry policy: urllib3's Retry with full jitter on the backoff, a POST never sent again once the server
    has answered or may have read it, and every pause bounded by the call's deadline.

    A POST is not in allowed_methods, so read errors (the request may have been processed) raise at once, while
    connect errors (nothing was sent) are retried as for any method. No status retries a POST here: a POST refused
    with 429 or 503 (not carried out, by RFC 6585 and RFC 9110) is raised as ``refused``, and the module that sent it
    looks for what it asked for before it honours Retry-After and sends it again (mx_package); a 502, a 504 or a lost
    answer may have been carried out and is never sent again blindly. A Retry-After longer than RETRY_AFTER_CAP or
    than the time left raises RetryAfterTooLong instead of sleeping through the deadline.
    """

    deadline = None  # time.monotonic() by which the call must end; None: no bound but the retry count

    def new(self, **kw):
        fresh = super(DeadlineRetry, self).new(**kw)
        fresh.deadline = self.deadline
        return fresh

    def left(self):
        return None if self.deadline is None else self.deadline - time.monotonic()

    def increment(self, *args, **kwargs):
        """The next attempt's Retry; none once the deadline has passed (urllib3 would retry at once, with no pause left)."""
        left = self.left()
        if left is not None and left <= 0:
            raise CallDeadline()
        return super(DeadlineRetry, self).increment(*args, **kwargs)

    def get_backoff_time(self):
        # Capped here too: urllib3 1.26 takes no backoff_max argument and caps at its own 120 s.
        base = min(super(DeadlineRetry, self).get_backoff_time(), BACKOFF_MAX)
        if base <= 0:
            return 0
        return random.uniform(base / 2.0, base)

    def is_retry(self, method, status_code, has_retry_after=False):
        if method and method.upper() == "POST":
            return False
        return super(DeadlineRetry, self).is_retry(method, status_code, has_retry_after)

    def sleep_for_retry(self, response):
        seconds = self.get_retry_after(response)
        if not seconds:
            return False
        left = self.left()
        limit = RETRY_AFTER_CAP if left is None else min(RETRY_AFTER_CAP, left)
        if seconds > limit:
            raise RetryAfterTooLong(seconds, limit)
        time.sleep(seconds)
        return True

    def _sleep_backoff(self):
        backoff = self.get_backoff_time()
        left = self.left()
        if left is not None:
            backoff = min(backoff, max(0.0, left))
        if backoff > 0:
            time.sleep(backoff)


def make_retry(retries, backoff_factor=0.5):
    """The Retry policy: GET/PUT/DELETE on 429/500/502/503/504 and connection errors, POST on refused connects only."""
    kwargs = dict(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        raise_on_status=False,
        respect_retry_after_header=True,
        allowed_methods=IDEMPOTENT_METHODS,
        backoff_max=BACKOFF_MAX,
    )
    try:
        return DeadlineRetry(**kwargs)
    except TypeError:  # urllib3 1.26: no backoff_max argument (its fixed maximum is 120 s; the deadline bounds it)
        del kwargs["backoff_max"]
        return DeadlineRetry(**kwargs)


class CallRetryAdapter(HTTPAdapter):
    """An HTTPAdapter whose Retry is the current call's, so that one budget covers every retry of a call.

    requests reads ``max_retries`` when it sends; the client sets the call's Retry for the running thread (paging
    threads each have their own) and reads back from the response what is left of it.
    """

    def __init__(self, *args, **kwargs):
        self._calls = threading.local()
        super(CallRetryAdapter, self).__init__(*args, **kwargs)

    @property
    def max_retries(self):
        current = getattr(self._calls, "retry", None)
        return current if current is not None else self._default_retry

    @max_retries.setter
    def max_retries(self, value):
        self._default_retry = value

    def use(self, retry):
        self._calls.retry = retry


class StreamingMultipart(object):
    """A multipart/form-data body that streams one file from disk in constant memory.

    It has a length, so requests sends an explicit Content-Length, and every iteration starts again from
    the beginning of the file, so a retried request sends the whole body again.
    """

    def __init__(self, path, fields, file_field="file", file_name=None, chunk_size=CHUNK_SIZE, boundary=None):
        self.path = path
        self.chunk_size = chunk_size
        self.boundary = boundary or "mxpc-%032x" % random.getrandbits(128)
        head = []
        for name, value in fields:
            head.append(
                '--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (self.boundary, name, value)
            )
        head.append(
            '--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\nContent-Type: application/octet-stream\r\n\r\n'
            % (self.boundary, file_field, (file_name or os.path.basename(path)).replace('"', ""))
        )
        self.head = "".join(head).encode("utf-8")
        self.tail = ("\r\n--%s--\r\n" % self.boundary).encode("ascii")
        self.file_size = os.path.getsize(path)

    @property
    def content_type(self):
        return "multipart/form-data; boundary=%s" % self.boundary

    def __len__(self):
        return len(self.head) + self.file_size + len(self.tail)

    def __iter__(self):
        yield self.head
        with open(self.path, "rb") as handle:
            while True:
                chunk = handle.read(self.chunk_size)
                if not chunk:
                    break
                yield chunk
        yield self.tail


def error_message(method, path, status, body, scopes=None):
    """One message from the Mendix error envelope, with what to do about it."""
    detail = ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        detail = err.get("message") or ""
        params = err.get("invalid-params") or []
        reasons = ["%s: %s" % (p.get("name"), p.get("reason")) for p in params if isinstance(p, dict)]
        if reasons:
            detail = "%s (%s)" % (detail, "; ".join(reasons)) if detail else "; ".join(reasons)
    elif isinstance(body, dict) and body.get("errorMessage"):  # the App Repository API's envelope
        detail = str(body["errorMessage"])
        if body.get("errorCode"):
            detail += " (%s)" % body["errorCode"]
    msg = "%s %s failed with HTTP %s" % (method, path, status)
    if detail:
        msg += ": %s" % detail
    refused = status == 401 or (status == 403 and re.search(r"(?i)token is not accepted|invalid token", detail or ""))
    if refused:
        # the Mendix docs' 403 "The token is not accepted" is a refused token, not a missing scope
        msg += (". The token was refused: the API does not accept it (mistyped, expired or revoked) - this is not a "
                "missing scope. Set token (or the MENDIX_PAT environment variable) to a valid Mendix Personal Access "
                "Token")
        msg += (" with the scope %s." % scopes) if scopes else "."
    elif status == 403:
        if scopes:
            msg += ". This operation needs a Personal Access Token with the scope %s." % scopes
        else:
            msg += ". Check that the Personal Access Token is valid and has the scopes this operation needs."
    elif status in (429, 503) and method == "POST":
        msg += ". The API did not take the request (a rate limit or a server that cannot handle it now)."
    elif status == 429:
        msg += ". The API's rate limit was still exceeded after the retries; raise retries or run fewer requests at once."
    return msg


class Client(object):
    """The Build and Deploy API client of every module and plugin."""

    def __init__(self, base_url, token, validate_certs=True, ca_path=None, timeout=30, retries=5, backoff_factor=0.5,
                 deadline=None, connections=10):
        if not HAS_REQUESTS:
            raise RuntimeError("the Python library requests is required")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = "MxToken %s" % token
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        self.session.verify = ca_path if ca_path else validate_certs
        self.retry = make_retry(retries, backoff_factor)
        # connections: how many calls may be in flight at once from threads (a connection each, kept for reuse)
        self.adapter = CallRetryAdapter(max_retries=self.retry, pool_maxsize=max(10, connections))
        self.session.mount("https://", self.adapter)
        self.session.mount("http://", self.adapter)
        self.verify = self.session.verify
        self.retries = retries
        self.backoff_factor = backoff_factor
        self.deadline = deadline  # time.monotonic() by which every call must have ended (the task's bound), or None
        self.request_count = 0
        self._count_lock = threading.Lock()

    def call_bound(self, timeout=None):
        """Seconds one call may take at the most: every attempt's timeout and every capped pause between them."""
        return (timeout or self.timeout) * (self.retries + 1) + BACKOFF_MAX * self.retries

    def call_retry(self, timeout=None):
        """A fresh Retry for one call, with the call's deadline: the task's, or the call's own bound if sooner."""
        retry = self.retry.new()
        own = time.monotonic() + self.call_bound(timeout)
        retry.deadline = own if self.deadline is None else min(own, self.deadline)
        return retry

    # ------------------------------------------------------------------ transport
    def _count(self):
        with self._count_lock:  # paging threads send requests at once
            self.request_count += 1

    def url(self, path):
        return self.base_url + path

    def _send(self, method, url, timeout, retry=None, **kwargs):
        """One call: session.request under the call's Retry (connection errors and retried statuses), and, for methods
        safe to repeat, the answer's body read again when it broke off after the headers, from the same budget.

        Returns (response, body bytes). Every attempt's timeout is cut to what is left of the deadline, and the body is
        read in blocks with the deadline checked between them, so a server that trickles an answer cannot hold the call.
        """
        retry = retry or self.call_retry(timeout)
        while True:
            left = retry.left()
            if left <= 0:
                raise CallDeadline()
            self.adapter.use(retry)
            try:
                resp = self.session.request(method, url, stream=True, timeout=min(timeout, max(left, 0.1)), **kwargs)
            finally:
                self.adapter.use(None)
            retry = getattr(resp.raw, "retries", None) or retry  # what the call's budget has left
            try:
                return resp, self._read_body(resp, retry)
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError,
                    requests.exceptions.ConnectionError) as exc:
                resp.close()
                if method not in IDEMPOTENT_METHODS:
                    raise
                try:
                    retry = retry.increment(method=method, url=url, error=ProtocolError("the answer broke off: %s" % exc))
                except MaxRetryError:
                    raise exc
                retry.sleep()

    @staticmethod
    def _read_body(resp, retry):
        """The answer's body, read as it arrives (read1: what one socket read gives), with the deadline checked after
        every read, so that neither a large body nor one trickled a byte at a time can hold the call. A body shorter
        than its Content-Length is a broken answer, whatever the urllib3 version."""
        read, release = _block_reader(resp)
        chunks = []
        got = 0
        try:
            while True:
                chunk = read()
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
                left = retry.left()
                if left is not None and left <= 0:
                    resp.close()
                    raise CallDeadline()
        except (ProtocolError, DecodeError) as exc:
            raise requests.exceptions.ChunkedEncodingError(exc)
        except ReadTimeoutError as exc:
            raise requests.exceptions.ConnectionError(exc)
        except IncompleteRead as exc:
            raise requests.exceptions.ChunkedEncodingError(ProtocolError("the answer broke off: %r" % exc))
        short = _short_of(resp, got)
        if short:
            resp.close()
            raise requests.exceptions.ChunkedEncodingError(ProtocolError("the answer broke off: %s" % short))
        release()
        return b"".join(chunks)

    def probe(self, url, timeout, body_limit=64 * 1024):
        """One GET of a URL outside the API, such as an app's health check: the transport of every call (its attempt
        timeout, the task's deadline, the guard against a trickled answer, the TLS options) without the token and
        without retries (the caller polls). Returns (status, the first ``body_limit`` bytes of the body as text);
        raises MendixApiError when there is no complete answer (``status`` None) or TLS verification fails.

        ``timeout`` bounds this probe as a whole, and the task's deadline bounds it too."""
        retry = make_retry(0, self.backoff_factor)
        own = time.monotonic() + max(0.1, timeout)
        retry.deadline = own if self.deadline is None else min(own, self.deadline)
        self._count()
        headers = {"Authorization": None, "Accept": "*/*", "User-Agent": USER_AGENT + "-health-check"}
        try:
            resp, content = self._send("GET", url, min(self.timeout, max(0.1, timeout)), retry=retry, headers=headers,
                                       verify=self.verify)
        except CallDeadline:
            raise MendixApiError("GET %s: no complete answer within %ss" % (url, _seconds(round(max(0.1, timeout), 1))))
        except requests.exceptions.SSLError as exc:
            raise MendixApiError("GET %s: TLS certificate verification failed (%s); set ca_path to the CA bundle that "
                                 "signed the app's certificate, or validate_certs: false" % (url, _reason(exc)), status=-1)
        except (requests.exceptions.RequestException, MaxRetryError, ProtocolError) as exc:
            raise MendixApiError("GET %s: no answer (%s)" % (url, type(exc).__name__))
        return resp.status_code, content[:body_limit].decode("utf-8", "replace")

    def request(self, method, path, scopes=None, ok=(200,), params=None, json_body=None, data=None, headers=None,
                timeout=None, allow_redirects=True):
        """Send a request; return (status, parsed JSON or None, response). Raises MendixApiError otherwise. With
        ``allow_redirects=False``, a redirect in ``ok`` is returned as it is (its body need not be JSON)."""
        url = self.url(path)
        self._count()
        try:
            # verify is passed on every call: a session-level value loses to REQUESTS_CA_BUNDLE in the environment.
            resp, content = self._send(method, url, timeout or self.timeout, params=params, json=json_body, data=data,
                                       headers=headers, verify=self.verify, allow_redirects=allow_redirects)
        except RetryAfterTooLong as exc:
            raise MendixApiError("%s %s: the API asked to wait %s seconds before trying again (Retry-After), longer than "
                                 "the %s seconds this call may wait (at most %s, and no longer than the task's time "
                                 "left); run the task again later." % (method, url, _seconds(exc.seconds),
                                                                       _seconds(exc.limit), RETRY_AFTER_CAP), status=429)
        except CallDeadline:
            raise MendixApiError("%s %s: no complete answer within the task's time bound; the API is too slow or does not "
                                 "answer (request_timeout=%ss, retries=%s)." % (method, url, self.timeout, self.retries),
                                 uncertain=method != "GET")
        except requests.exceptions.SSLError as exc:
            raise MendixApiError(
                "%s %s: TLS certificate verification failed (%s). Set ca_path to the CA bundle that signed the "
                "server's certificate, or validate_certs to false for a test server." % (method, url, _reason(exc))
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise MendixApiError("%s %s: connection timed out after %s retries (%s). Check base_url and the network or proxy."
                                 % (method, url, self.retries, _reason(exc)))
        except requests.exceptions.ConnectionError as exc:
            uncertain = method != "GET" and not _is_connect_error(exc)
            raise MendixApiError("%s %s: cannot reach the API (%s). Check base_url, the network and any proxy."
                                 % (method, url, _reason(exc)), uncertain=uncertain)
        except requests.exceptions.Timeout as exc:
            raise MendixApiError("%s %s: no answer within request_timeout=%ss (%s)." % (method, url, self.timeout, _reason(exc)),
                                 uncertain=method != "GET")
        except requests.exceptions.RequestException as exc:
            raise MendixApiError("%s %s: %s" % (method, url, _reason(exc)), uncertain=method != "GET")
        body = None
        if content:
            try:
                body = json.loads(content.decode("utf-8"))
            except ValueError:
                body = None
        if resp.status_code not in ok:
            message = error_message(method, path, resp.status_code, body, scopes)
            if body is None and resp.status_code in (404, 405):
                message += (". The answer is not the API's JSON: check base_url, the API's URL ending in /api/v4 (now %s)."
                            % self.base_url)
            refused = method == "POST" and resp.status_code in REFUSAL_STATUSES
            raise MendixApiError(message, status=resp.status_code, body=body, refused=refused,
                                 retry_after=retry_after_seconds(resp) if refused else None,
                                 uncertain=method != "GET" and resp.status_code in UNCERTAIN_STATUSES and not refused)
        if body is None and resp.status_code != 204 and method != "HEAD" and not resp.is_redirect:
            raise MendixApiError("%s %s: the answer (HTTP %s) is not JSON; is base_url the API's URL, ending in /api/v4?"
                                 % (method, url, resp.status_code), status=resp.status_code)
        return resp.status_code, body, resp

    # ------------------------------------------------------------------ Build API
    def list_packages(self, app_id, page_size=50, concurrency=4):
        """Every package of an app, newest first by createdOn (ties by id), whatever order the API lists them in.

        Paging follows the server's ``pagination`` answer: ``size`` is the page's item count and ``limit`` the page
        size the server used, which may be less than the ``limit`` asked for; a page shorter than that (or empty) is
        the last. The first pages are fetched one at a time; while they keep coming full, the next ones are fetched
        in growing windows of up to ``concurrency`` pages at once. A list of one or two pages costs the same
        requests as paging one by one; a long list costs at most ``concurrency - 1`` requests more.
        """
        def page(offset):
            dummy, body, dummy2 = self.request("GET", "/apps/%s/packages" % quote(app_id), scopes=SCOPES_READ,
                                               params={"offset": offset, "limit": page_size})
            if not isinstance(body, dict):
                raise MendixApiError("GET /apps/%s/packages: the answer has no packages list" % app_id)
            items = body.get("packages") or []
            pagination = body.get("pagination") if isinstance(body.get("pagination"), dict) else {}
            size = _whole(pagination.get("size"), len(items))
            limit = _whole(pagination.get("limit"), page_size)
            return items, size, max(1, min(limit, page_size))

        packages = []
        seen = set()
        offset, window, step = 0, 1, page_size
        pool = None
        try:
            while True:
                offsets = [offset + index * step for index in range(window)]
                if window == 1:
                    results = [page(offsets[0])]
                else:
                    if pool is None:
                        pool = ThreadPoolExecutor(max_workers=concurrency)
                    results = list(pool.map(page, offsets))
                for index, (items, size, limit) in enumerate(results):
                    for item in items:  # a package created while paging shifts the offsets: keep each one once
                        if item.get("id") not in seen:
                            seen.add(item.get("id"))
                            packages.append(item)
                    if size < limit or not items:
                        return newest_first(packages)
                    if limit != step:  # the server pages by a smaller size than asked for: go on from this page
                        step, window, offset = limit, 1, offsets[index] + len(items)
                        break
                else:
                    offset = offsets[-1] + step
                    window = min(concurrency, window * 2) if len(packages) >= 2 * step else 1
        finally:
            if pool is not None:
                pool.shutdown(wait=True)

    def get_package(self, app_id, package_id, url=False, log=False, missing_ok=False):
        params = {}
        if url:
            params["url"] = "true"
        if log:
            params["log"] = "true"
        try:
            dummy, body, dummy2 = self.request("GET", "/apps/%s/packages/%s" % (quote(app_id), quote(package_id)), scopes=SCOPES_READ,
                                               params=params or None)
        except MendixApiError as exc:
            if missing_ok and exc.status == 404 and not is_app_missing(exc):
                return None
            raise
        return body.get("package", body)

    def start_build(self, app_id, branch, revision, version=None, description=None):
        payload = {"branch": branch, "revision": revision}
        if version:
            payload["version"] = version
        if description is not None:
            payload["description"] = description
        return self._accepted("POST", "/apps/%s/packages/build" % quote(app_id), SCOPES_BUILD, json_body=payload)

    def start_upload(self, app_id, path, file_name):
        body = StreamingMultipart(path, [("fileName", file_name)], file_name=file_name)
        return self._accepted("POST", "/apps/%s/packages" % quote(app_id), SCOPES_WRITE, data=body,
                              headers={"Content-Type": body.content_type}, timeout=max(self.timeout, 300))

    def start_delete(self, app_id, package_id):
        return self._accepted("DELETE", "/apps/%s/packages/%s" % (quote(app_id), quote(package_id)), SCOPES_WRITE)

    def get_job(self, job_id, log=False, scopes=SCOPES_READ):
        dummy, body, dummy2 = self.request("GET", "/jobs/%s" % quote(job_id), scopes=scopes, params={"log": "true"} if log else None)
        return body

    def _accepted(self, method, path, scopes, **kwargs):
        """The job of an accepted write. Its id comes from the body, or else from the Location header's last part."""
        dummy, body, resp = self.request(method, path, scopes=scopes, ok=(200, 201, 202), **kwargs)
        job = dict(body) if isinstance(body, dict) else {}
        location = resp.headers.get("Location")
        if location:
            job["location"] = location
        if not job.get("id") and location:
            match = re.search(r"/jobs/([^/?#]+)/?(?:[?#].*)?$", location)
            if match:
                job["id"] = match.group(1)
        if not job.get("id"):
            raise MendixApiError("%s %s was accepted (HTTP %s) but the answer names no job: no id in the body and no "
                                 "Location header ending in /jobs/<id>. The change may be under way; list the packages "
                                 "before trying again." % (method, path, resp.status_code), status=resp.status_code,
                                 body=body, accepted=True)
        return job

    # ------------------------------------------------------------------ package files
    def download_package(self, app_id, package_id, handle, sleep=time.sleep):
        """Stream a package's file into ``handle`` (a binary file open for writing, at offset 0).

        Asks for a fresh download URL, then copies in large blocks. A connection that breaks mid-way is resumed
        with a Range request from the bytes already written, and an URL that expired meanwhile is asked for again,
        up to ``retries`` times in all. The token is never sent to the download URL. Returns (package, resumes).
        """
        package = self.get_package(app_id, package_id, url=True)
        expected = package.get("fileSize")
        resumes = 0
        # The download's own budget and backoff are the one retry policy's: HTTP 429 and 5xx answers are retried by
        # it inside each request, and a broken transfer or an expired URL spends from the same budget here.
        retry = self.retry.new()
        while True:
            location = (package.get("url") or {}).get("location")
            if not location:
                raise MendixApiError("GET /apps/%s/packages/%s?url=true gave no download URL" % (app_id, package_id))
            try:
                self._fetch_file(location, handle)
                break
            except MendixApiError as exc:
                try:
                    if not (isinstance(exc, DownloadBroken) or exc.status == 403):
                        raise MaxRetryError(None, location, exc)
                    retry = retry.increment(method="GET", url=location, error=ProtocolError(exc.message))
                except MaxRetryError:
                    raise MendixApiError("%s (gave up after %d %s; raise retries or run again)"
                                         % (exc.message, resumes, "retry" if resumes == 1 else "retries")
                                         if resumes else exc.message, status=exc.status)
                resumes += 1
                sleep(retry.get_backoff_time())
                if exc.status == 403:  # the time-limited URL expired: ask for a new one
                    package = self.get_package(app_id, package_id, url=True)
        got = handle.tell()
        if expected is not None and got != expected:
            raise MendixApiError("the download gave %d bytes but the package has fileSize %d; run again" % (got, expected))
        return package, resumes

    def _fetch_file(self, location, handle):
        offset = handle.tell()
        # The URL carries its own signature: no Authorization (it must not leave for another host) and no JSON Accept.
        headers = {"Authorization": None, "Accept": None}
        if offset:
            headers["Range"] = "bytes=%d-" % offset
        where = location.split("?", 1)[0]
        self._count()
        try:
            with self.session.get(location, headers=headers, stream=True, timeout=self.timeout, verify=self.verify) as resp:
                if resp.status_code == 206:
                    match = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
                    if not match or int(match.group(1)) != offset:
                        raise MendixApiError("GET %s: the server resumed at %s, not at byte %d"
                                             % (where, resp.headers.get("Content-Range"), offset))
                elif resp.status_code == 200:
                    if offset:  # the server ignored the Range header: start over
                        handle.seek(0)
                        handle.truncate()
                elif resp.status_code == 403:
                    raise MendixApiError("GET %s: the download URL was refused (HTTP 403); it expires after its ttl"
                                         % where, status=403)
                else:
                    raise MendixApiError("GET %s: the download failed with HTTP %s" % (where, resp.status_code),
                                         status=resp.status_code)
                got = 0
                for chunk in resp.iter_content(CHUNK_SIZE):
                    handle.write(chunk)
                    got += len(chunk)
                short = _short_of(resp, got)
                if short:  # urllib3 1.26 ends a stream that broke off early without an error
                    raise DownloadBroken("GET %s: the download broke off after %d bytes (%s)" % (where, handle.tell(), short))
        except requests.exceptions.SSLError as exc:
            raise MendixApiError("GET %s: TLS certificate verification failed (%s). Set ca_path to the CA bundle that "
                                 "signed the download server's certificate." % (where, _reason(exc)))
        except requests.exceptions.RequestException as exc:
            raise DownloadBroken("GET %s: the download broke off after %d bytes (%s)" % (where, handle.tell(), _reason(exc)))

    # ------------------------------------------------------------------ Deploy API
    def environment_path(self, app_id, namespace_id, environment_id):
        return "/apps/%s/namespaces/%s/environments/%s" % (quote(app_id), quote(namespace_id), quote(environment_id))

    def get_environment(self, app_id, namespace_id, environment_id):
        dummy, body, dummy2 = self.request("GET", self.environment_path(app_id, namespace_id, environment_id),
                                           scopes=SCOPES_DEPLOY_READ)
        return body

    def list_environments(self, app_id, page_size=20, max_pages=1000):
        """Every environment manifest of an app (``GET /apps/{appId}/environments``)."""
        return self.list_all("/apps/%s/environments" % quote(app_id), "environments", page_size, max_pages,
                             key=lambda env: ((env.get("provider") or {}).get("namespaceId"), env.get("id")),
                             item="environment")

    def list_all(self, path, field, page_size=20, max_pages=1000, key=None, item=None, params=None):
        """Every item of a Deploy API list (``{field: [...]}``, no paging block).

        The server may serve fewer than ``limit`` items a page, so a short page does not prove the end: pages are read
        at growing offsets until one comes back empty. An item seen before (by ``key`` of its ``item`` part) is not
        listed twice, when the list shifts between pages.
        """
        found, seen = [], set()
        offset = 0
        for dummy in range(max_pages):
            dummy, body, dummy2 = self.request("GET", path, scopes=SCOPES_DEPLOY_READ,
                                               params=dict(params or {}, offset=offset, limit=page_size))
            page = body.get(field) if isinstance(body, dict) else None
            if not isinstance(page, list):
                raise MendixApiError("GET %s: the answer has no %s list" % (path, field))
            if not page:
                return found
            for entry in page:
                part = entry.get(item) if item and isinstance(entry, dict) else entry
                mark = key(part or {}) if key else None
                if mark is None or mark not in seen:
                    seen.add(mark)
                    found.append(entry)
            offset += len(page)
        raise MendixApiError("GET %s: more than %d pages; the server's list does not end" % (path, max_pages))

    def get_manifest(self, path, missing_ok=False, params=None):
        """A Deploy API manifest (cluster, namespace, app); None for a 404 when ``missing_ok``."""
        try:
            dummy, body, dummy2 = self.request("GET", path, scopes=SCOPES_DEPLOY_READ, params=params)
        except MendixApiError as exc:
            if missing_ok and exc.status == 404:
                return None
            raise
        return body

    def write_manifest(self, method, path, manifest=None):
        """A Deploy API write (POST, PUT, DELETE) with a JSON manifest, or none: its job."""
        kwargs = {"json_body": manifest, "headers": {"Content-Type": "application/json"}} if manifest is not None else {}
        return self._accepted(method, path, SCOPES_DEPLOY_WRITE, **kwargs)

    def cli_location(self, version, os_name, architecture):
        """The download URL of that mxpc-cli build: ``POST /cli/{version}`` answers 303 with it (not followed here, so
        the token does not go with it)."""
        path = "/cli/%s" % quote(version)
        dummy, dummy2, resp = self.request("POST", path, scopes=SCOPES_DEPLOY_READ, ok=(301, 302, 303, 307, 308),
                                           params={"os": os_name, "architecture": architecture}, allow_redirects=False)
        location = resp.headers.get("Location") or resp.headers.get("Content-Location")
        if not location:
            raise MendixApiError("POST %s: the answer (HTTP %s) names no download URL (no Location header)"
                                 % (path, resp.status_code), status=resp.status_code)
        return requests.compat.urljoin(self.url(path), location)

    def fetch_file(self, location, handle):
        """Stream a file from a download URL into ``handle``, without the token; a broken transfer is resumed from the
        bytes already written, within the retry policy's budget."""
        retry = self.retry.new()
        while True:
            try:
                self._fetch_file(location, handle)
                return
            except DownloadBroken as exc:
                try:
                    retry = retry.increment(method="GET", url=location, error=ProtocolError(exc.message))
                except MaxRetryError:
                    raise MendixApiError("%s (gave up; raise retries or run again)" % exc.message)
                time.sleep(retry.get_backoff_time())

    def put_environment(self, app_id, namespace_id, environment_id, manifest):
        return self._accepted("PUT", self.environment_path(app_id, namespace_id, environment_id), SCOPES_DEPLOY_WRITE,
                              json_body=manifest, headers={"Content-Type": "application/json"})

    def create_environment(self, app_id, manifest):
        """``POST /apps/{appId}/environments``: the job that creates the environment the manifest describes."""
        return self._accepted("POST", "/apps/%s/environments" % quote(app_id), SCOPES_DEPLOY_WRITE, json_body=manifest,
                              headers={"Content-Type": "application/json"})

    def delete_environment(self, app_id, namespace_id, environment_id):
        return self._accepted("DELETE", self.environment_path(app_id, namespace_id, environment_id), SCOPES_DEPLOY_WRITE)


def _block_reader(resp):
    """(read, release): read() gives the next block of the body as soon as a socket read brings it (b"" at the end);
    release() hands the connection back to the pool once the body was read to its end."""
    raw = resp.raw
    read1 = getattr(raw, "read1", None)
    if read1 is not None:  # urllib3 2
        return (lambda: read1(CHUNK_SIZE, decode_content=True)), (lambda: None)
    fp = getattr(raw, "_fp", None)
    if fp is not None and hasattr(fp, "read1") and not resp.headers.get("Content-Encoding"):
        # urllib3 1.26 has no read1, and its read(amt) waits for amt bytes, which a server trickling its answer can
        # make last for ever; its http.client response's read1 gives what one socket read brings.
        def release():
            # http.client does not mark a response read to its end through read1 as closed, and its connection then
            # refuses the next request while the response lives (ResponseNotReady): close it before the pool takes
            # the connection back. The socket stays open for the next request.
            fp.close()
            raw.release_conn()

        return (lambda: fp.read1(CHUNK_SIZE)), release
    return (lambda: raw.read(65536, decode_content=True)), (lambda: None)


def _short_of(resp, got):
    """Why a body of `got` bytes falls short of the answer's Content-Length, or None when it does not (or cannot tell:
    an encoded body's length is not the Content-Length)."""
    length = resp.headers.get("Content-Length", "")
    if resp.headers.get("Content-Encoding") or not length.isdigit() or resp.request is None or resp.request.method == "HEAD":
        return None
    if got < int(length):
        return "%d of %s bytes" % (got, length)
    return None


def quote(segment):
    """A path segment, URL-quoted (nothing is safe, so a slash cannot make another path)."""
    return _quote(str(segment), safe="")


def _whole(value, default):
    """An int from the API's answer, or the default when it is missing or not a whole number."""
    if isinstance(value, bool) or not isinstance(value, int):
        return default
    return value


def retry_after_seconds(resp):
    """The Retry-After of an answer in seconds (a number of seconds or an HTTP date), or None."""
    value = (resp.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if re.match(r"^\d+(\.\d+)?$", value):
        return float(value)
    try:
        from email.utils import parsedate_to_datetime  # pylint: disable=import-outside-toplevel

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _seconds(value):
    return ("%d" % value) if float(value).is_integer() else ("%.1f" % value)


def _reason(exc):
    """The innermost reason of a requests/urllib3 error, without the request's headers."""
    inner = exc
    for dummy in range(5):
        nxt = getattr(inner, "reason", None) or (inner.args[0] if getattr(inner, "args", None) else None)
        if nxt is None or nxt is inner or isinstance(nxt, str):
            break
        inner = nxt
    text = str(inner) or inner.__class__.__name__
    return text


def _is_connect_error(exc):
    """Whether a ConnectionError happened before anything was sent (refused, DNS, connect timeout)."""
    text = repr(exc)
    markers = ("NewConnectionError", "ConnectTimeoutError", "NameResolutionError", "Connection refused", "Failed to resolve",
               "Name or service not known")
    return any(m in text for m in markers)


def is_app_missing(exc):
    """Whether a 404 says the app (not the package, environment or branch) is unknown: the Build and Deploy APIs'
    envelope ("App ... could not be found") or the App Repository API's ("Repository of app ... not found")."""
    body = exc.body if isinstance(exc.body, dict) else {}
    message = str((body.get("error") or {}).get("message", "") if isinstance(body.get("error"), dict) else "")
    repository = str(body.get("errorMessage") or "")
    return message.startswith("App ") or message == "App not found" or repository.startswith("Repository of app ")

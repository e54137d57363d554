# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The controller's job journal: accepted, unfinished build and upload jobs, and a lock per package identity.

The Build API lists no running jobs and takes no idempotency key, so a task cannot ask the API whether the build
it wants is already running. Tasks on one controller tell each other instead: a task holds the identity's lock
while it looks for the package and starts the job, and writes the accepted job into the journal before it lets
go. A later task (a re-run, another task, another host of the play) finds the job there and waits on it instead
of building again. An entry is dropped when its job is seen to end, and expires after ENTRY_TTL seconds.

One file per identity under the journal directory (mode 0700), named by a hash of the identity, so that branch
names and file names never become paths.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import hashlib
import json
import os
import tempfile
import time

DEFAULT_DIR = "~/.ansible/mendix_private_cloud/jobs"
ENV_DIR = "MENDIX_JOB_JOURNAL_DIR"
ENTRY_TTL = 24 * 3600


class LockTimeout(Exception):
    """Another task held the identity's lock for longer than this task may wait."""


def identity_key(parts):
    """A stable file-name-safe key for an identity (a tuple of strings)."""
    return hashlib.sha256(json.dumps(list(parts), sort_keys=True).encode("utf-8")).hexdigest()[:40]


class Journal(object):
    """Entries and locks under ``directory``."""

    def __init__(self, directory, clock=time.time, sleep=time.sleep, monotonic=time.monotonic):
        self.directory = os.path.abspath(os.path.expanduser(directory or DEFAULT_DIR))
        self.clock = clock
        self.sleep = sleep
        self.monotonic = monotonic

    def _ensure(self):
        try:
            os.makedirs(self.directory, 0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise

    def _path(self, key, suffix):
        return os.path.join(self.directory, key + suffix)

    def lock(self, key, timeout):
        """A held lock for the identity (a context manager); raises LockTimeout after ``timeout`` seconds."""
        self._ensure()
        return _Lock(self._path(key, ".lock"), timeout, self.sleep, self.monotonic)

    def get(self, key):
        """The live entry of an identity, or None (an expired or unreadable entry is dropped)."""
        path = self._path(key, ".json")
        try:
            with open(path) as handle:
                entry = json.load(handle)
        except (IOError, OSError, ValueError):
            return None
        if (not isinstance(entry, dict) or not (entry.get("job_id") or entry.get("intent"))
                or self.clock() - float(entry.get("written", 0)) > ENTRY_TTL):
            self.drop(key)
            return None
        return entry

    def put_intent(self, key, what, seconds):
        """Before a build or upload is sent: an entry that says it is being sent, valid for ``seconds`` (the sending
        task's wait bound). A task that finds it - the answer was lost, or the sender was killed before it recorded the
        job - watches for the package until then instead of sending again."""
        self.put(key, {"intent": True, "what": what, "sent": self.clock(), "deadline": self.clock() + seconds,
                       "boot_id": boot_id(), "mono_deadline": self.monotonic() + seconds})

    def intent_left(self, entry):
        """Seconds until an intent entry's deadline (0 when passed). On the boot that wrote it the monotonic clock
        tells, so a wall-clock jump does not; after a reboot the wall clock does."""
        if entry.get("boot_id") and entry.get("boot_id") == boot_id() and entry.get("mono_deadline") is not None:
            return max(0.0, float(entry["mono_deadline"]) - self.monotonic())
        return max(0.0, float(entry.get("deadline") or 0) - self.clock())

    def put(self, key, entry):
        """Write an entry atomically and durably: a temporary file, flushed to disk, renamed over the old one, so that
        a reader - or a run after a crash - finds the old entry or the new one, never half of one."""
        self._ensure()
        entry = dict(entry, written=self.clock())
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".entry-")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(entry, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(tmp, self._path(key, ".json"))
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def put_record(self, key, record):
        """A record that does not expire (a deploy's record of what ran before): written as put writes an entry, and
        read back with get_record, which applies no expiry."""
        self.put(key, record)

    def get_record(self, key):
        """A record written by put_record, or None."""
        try:
            with open(self._path(key, ".json")) as handle:
                record = json.load(handle)
        except (IOError, OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def try_lock(self, key):
        """The lock of an identity if no other task holds it now, else None (for a reader that skips what is busy)."""
        self._ensure()
        lock = _Lock(self._path(key, ".lock"), 0, self.sleep, self.monotonic)
        try:
            return lock.__enter__()
        except LockTimeout:
            return None

    def drop(self, key):
        try:
            os.unlink(self._path(key, ".json"))
        except OSError:
            pass


def boot_id():
    """This boot's id (Linux), so that monotonic times are compared on the boot that took them only; None elsewhere."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip() or None
    except (IOError, OSError):
        return None


class _Lock(object):
    def __init__(self, path, timeout, sleep, monotonic):
        self.path = path
        self.timeout = timeout
        self.sleep = sleep
        self.monotonic = monotonic
        self.handle = None

    def __enter__(self):
        self.handle = open(self.path, "a")
        deadline = self.monotonic() + self.timeout
        pause = 0.05
        while True:
            try:
                fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            left = deadline - self.monotonic()
            if left <= 0:
                self.handle.close()
                raise LockTimeout("another task on this controller held the lock %s for more than %s seconds"
                                  % (self.path, self.timeout))
            self.sleep(min(pause, left))
            pause = min(pause * 2, 1.0)

    def __exit__(self, *exc):
        try:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
        finally:
            self.handle.close()
        return False

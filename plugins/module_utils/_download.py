# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Downloaded files and their records, for every module that downloads (a package, mxpc-cli).

A file counts as downloaded only when it is known to be what the task asks for: a record written beside it names it
(by ``identity``: app and package, or version, system and architecture) and the file is the one recorded (the same
size, and the same inode and modification time, or else the same SHA-256). A file is downloaded into a temporary
file beside its destination and moved into place, so it is replaced atomically.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import tempfile


def target_path(dest, file_name):
    """dest itself, or ``file_name`` inside dest when dest is a directory."""
    if os.path.isdir(dest):
        return os.path.join(dest, os.path.basename(file_name))
    return dest


def record_path(dest, kind="package"):
    """The record written beside a downloaded file: what it is."""
    return os.path.join(os.path.dirname(os.path.abspath(dest)), ".%s.mendix-%s.json" % (os.path.basename(dest), kind))


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def holds(dest, identity, size=None, kind="package"):
    """Whether dest is known to hold what ``identity`` names (and, when given, has ``size`` bytes)."""
    try:
        with open(record_path(dest, kind)) as handle:
            record = json.load(handle)
        info = os.stat(dest)
    except (IOError, OSError, ValueError):
        return False
    if not isinstance(record, dict) or any(record.get(key) != value for key, value in identity.items()):
        return False
    if info.st_size != record.get("size") or (size is not None and info.st_size != size):
        return False
    if record.get("inode") == info.st_ino and record.get("mtime_ns") == getattr(info, "st_mtime_ns", None):
        return True
    return record.get("sha256") == sha256_of(dest)


def write_record(dest, identity, kind="package"):
    """Record beside dest what it holds (written to a temporary file, then moved into place)."""
    info = os.stat(dest)
    record = dict(identity, size=info.st_size, sha256=sha256_of(dest), inode=info.st_ino,
                  mtime_ns=getattr(info, "st_mtime_ns", None))
    path = record_path(dest, kind)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", dir=os.path.dirname(path))
    with os.fdopen(fd, "w") as handle:
        json.dump(record, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(tmp, path)


def check_dest(dest):
    """What is wrong with a destination: its folder must exist and be writable."""
    folder = os.path.dirname(os.path.abspath(dest)) if not os.path.isdir(dest) else dest
    if not os.path.isdir(folder):
        return ["dest's folder %s does not exist; create it first (ansible.builtin.file with state=directory)" % folder]
    if not os.access(folder, os.W_OK):
        return ["dest's folder %s is not writable; choose another dest or fix its permissions" % folder]
    return []


def temporary_beside(dest):
    """A new temporary file beside dest, for the download: (file descriptor, path)."""
    return tempfile.mkstemp(prefix=".%s." % os.path.basename(dest), suffix=".part", dir=os.path.dirname(os.path.abspath(dest)))

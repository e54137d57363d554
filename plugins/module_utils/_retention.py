# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Retention: which of an app's packages a prune deletes, and why each other one is kept.

The rules, as mx_package_prune documents them:

- ``keep_ids`` and (with ``keep_deployed``) the packages that an environment of the app runs are always kept.
- ``keep``: the newest ``keep`` packages of each branch (by ``createdOn``, ties by id) are kept. A package's
  branch comes from package_origin (the collection's marker, else the documented file name); a package whose
  branch cannot be told (an upload, or a package named in no documented format) is kept by this rule.
- ``older_than``: only packages created longer ago than this may be deleted; a package whose ``createdOn``
  cannot be read is kept. Without ``keep``, every package older than this is deleted, whatever its branch.
- With both, a package is deleted when it is beyond the newest ``keep`` of its branch and older than
  ``older_than``; a package of no known branch is deleted when it is older than ``older_than``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.mendix.private_cloud.plugins.module_utils._identity import created_key, newest_first, package_origin

DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

DELETE = "delete"
KEEP = "keep"


def parse_duration(text):
    """Seconds of a duration such as ``30d``, ``12h``, ``90m``, ``2w`` or ``3600s``; None when it is not one."""
    match = DURATION_RE.match(str(text or ""))
    if not match:
        return None
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def plan(packages, now, keep=None, older_than=None, deployed=(), keep_ids=(), protected=None, branches=None):
    """[(package, branch, DELETE | KEEP, reason)] for every package, newest first.

    ``now`` is the time in seconds since the epoch, ``older_than`` a number of seconds, ``deployed`` and
    ``keep_ids`` sets of lower-case package ids, ``branches`` (when given) the only branches pruned, ``protected``
    {lower-case package id: why it is kept} (rollback targets, packages of environments with a change in flight).
    """
    protected = protected or {}
    rank = {}
    decisions = []
    for pkg in newest_first(packages):
        pid = str(pkg.get("id") or "").lower()
        branch = package_origin(pkg)[0]
        if branch is not None:
            rank[branch] = rank.get(branch, 0) + 1
        stamp = created_key(pkg)[0]
        age = now - stamp if stamp != float("-inf") else None
        if branches is not None and branch not in branches:
            decisions.append((pkg, branch, KEEP, "not of the branches pruned (%s)" % ", ".join(branches)))
        elif pid in keep_ids:
            decisions.append((pkg, branch, KEEP, "listed in keep_ids"))
        elif pid in protected:
            decisions.append((pkg, branch, KEEP, protected[pid]))
        elif pid in deployed:
            decisions.append((pkg, branch, KEEP, "an environment of the app runs it (keep_deployed)"))
        elif keep is not None and branch is not None and rank[branch] <= keep:
            decisions.append((pkg, branch, KEEP, "one of the newest %d of branch %s" % (keep, branch)))
        elif keep is not None and branch is None and older_than is None:
            decisions.append((pkg, branch, KEEP, "its branch cannot be told (an upload, or a name in no documented "
                                                 "format); set older_than to prune such packages by age"))
        elif older_than is not None and age is None:
            decisions.append((pkg, branch, KEEP, "its createdOn %r cannot be read, so its age is unknown" % pkg.get("createdOn")))
        elif older_than is not None and age <= older_than:
            decisions.append((pkg, branch, KEEP, "not older than older_than"))
        elif keep is not None and branch is not None:
            decisions.append((pkg, branch, DELETE, "beyond the newest %d of branch %s" % (keep, branch)
                              + (" and older than older_than" if older_than is not None else "")))
        else:
            decisions.append((pkg, branch, DELETE, "older than older_than"))
    return decisions

# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Many tasks of one module in one process (a fleet): each item runs as the single task would, in its own thread,
against the task's one client and one deadline, and ends with its own result instead of ending the process."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule


class ItemEnded(Exception):
    """How one item ends: its result, as a task of its own would have exited or failed with."""

    def __init__(self, result):
        super(ItemEnded, self).__init__("item ended")
        self.result = result


class ItemModule(object):
    """The module as one item sees it: the item's own options, warnings and end; the task's client (safe to share
    between threads), clock, check mode and deadline. Each item has its own App Repository API client, whose retry
    setting a revision check changes for a moment."""

    def __init__(self, module, params):
        self.module = module
        self.params = params
        self.check_mode = module.check_mode
        self.started = module.started
        self.warnings = []
        self._client = module.client
        self._repository = None

    client = property(lambda self: self._client)
    repository = MendixModule.repository
    deadline = MendixModule.deadline
    time_left = MendixModule.time_left
    waiter = MendixModule.waiter
    fail_on = MendixModule.fail_on
    fail_api = MendixModule.fail_api

    def warn(self, warning):
        self.warnings.append(warning)

    def exit_json(self, **result):
        raise ItemEnded(result)

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=msg)
        raise ItemEnded(result)


def run_item(module, params, run, **on_surprise):
    """Run ``run(item_module)`` for one item to its end; returns the item's result with ``failed`` and ``warnings``.
    An exception the item does not expect fails the item (``on_surprise`` are its result's other keys), not the
    task: one item's surprise must not end the others."""
    item = ItemModule(module, params)
    try:
        run(item)
        result = dict(on_surprise, failed=True, msg="the item ended without a result")
    except ItemEnded as ended:
        result = ended.result
    except Exception as exc:  # pylint: disable=broad-except
        result = dict(on_surprise, failed=True, msg="%s: %s" % (type(exc).__name__, exc))
    result.setdefault("failed", False)
    result["warnings"] = item.warnings
    return result


def run_groups(groups, run_one):
    """``run_one(group)`` for every group at once, a thread each (each waits on the API, not on the CPU); the
    results in the order of the groups."""
    pool = ThreadPoolExecutor(max_workers=max(1, len(groups)))
    try:
        return list(pool.map(run_one, groups))
    finally:
        pool.shutdown(wait=True)


def spread(module, groups, results, key):
    """Each item of each group gets its group's result, under its own name: the first item of a group reports the
    change, the others joined it (``changed`` false, ``key`` true). The group's warnings become the task's, each
    named by its item. Returns the results by name."""
    by_name = {}
    for group, result in zip(groups, results):
        for position, item in enumerate(group):
            own = dict(result, name=item["name"], app_id=item["app_id"].lower())
            if position and own.get("changed"):
                own.update(changed=False)
                own[key] = True
            by_name[item["name"]] = own
            for warning in result["warnings"]:
                module.warn("%s: %s" % (item["name"], warning))
    return by_name


class Fleet(object):
    """A task given a list of items (``builds=``, ``deployments=``): items that ask for the same thing grouped, every
    group at once within the task's one bound, each item's result under its own name, and the task's one end.

    A module's fleet names its list option (``OPTION``), the option that fails the task on a failed item
    (``FAIL_OPTION``), the result key of an item that joined another's work (``JOINED``) and the single task's result
    keys that a fleet's result carries empty (``TASK_KEYS``); it says what an item asks for (``key``) and how one item
    runs (``run_one``)."""

    OPTION = FAIL_OPTION = JOINED = None
    TASK_KEYS = {}

    def __init__(self, module):
        self.module = module
        self.p = module.params

    def key(self, item):
        raise NotImplementedError

    def run_one(self, item):
        raise NotImplementedError

    def groups(self):
        """The items by what they ask for, in the order of their first item."""
        groups = {}
        for item in self.p[self.OPTION]:
            groups.setdefault(self.key(item), []).append(item)
        return list(groups.values())

    def run(self):
        """Every group at once (each waits on its own jobs, not on the CPU), then the task's end."""
        groups = self.groups()
        self.module.connections = len(groups)
        self.module.check_connection_input()
        by_name = spread(self.module, groups, run_groups(groups, lambda group: self.run_one(group[0])), self.JOINED)
        items = [by_name[item["name"]] for item in self.p[self.OPTION]]
        for item in items:
            item.setdefault(self.JOINED, False)
        result = dict(self.TASK_KEYS, changed=any(item.get("changed") for item in items), by_name=by_name,
                      diff=item_diffs(items))
        result[self.OPTION] = items
        failed = [item for item in items if item["failed"]]
        if failed and self.p[self.FAIL_OPTION]:
            self.module.fail_json(msg="%d of %d %s failed: %s" % (len(failed), len(items), self.OPTION, "; ".join(
                "%s: %s" % (item["name"], item["msg"]) for item in failed)), **result)
        self.module.exit_json(**result)


def item_diffs(items):
    """The task's diff from each item's own (removed from the item): before and after by item name."""
    diff = {"before": {}, "after": {}}
    for item in items:
        own = item.pop("diff", None) or {}
        diff["before"][item["name"]] = own.get("before", {})
        diff["after"][item["name"]] = own.get("after", {})
    return diff

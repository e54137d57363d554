# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The action plugin every module of the collection runs through.

It gives each task the options of the ``mendix`` action group's ``module_defaults`` that the task leaves out,
including those the task names but templates to ``omit``. ansible-core merges ``module_defaults`` before it
templates a task's arguments, so an option written as ``"{{ x | default(omit) }}"`` hides the default even when it
ends up omitted; roles that pass options through (``build_and_deploy``) would lose the play's connection settings.
The environment variables (``MENDIX_PAT``, ``MENDIX_PRIVATE_CLOUD_URL``, ...) still apply last, in the module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.parsing.plugin_docs import read_docstring
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import fragment_loader
from ansible.utils.plugin_docs import add_fragments

GROUP = "mendix"
COLLECTION = "mendix.private_cloud"


def group_defaults(task, templar, action):
    """The ``module_defaults`` that apply to ``action`` (a fully qualified module name): the groups that hold it, then
    the module's own entry, the later level of the play, block and task overriding the earlier as ansible-core does."""
    merged = {}
    for level in task.module_defaults or []:
        if isinstance(level, dict):
            merged.update(level)
    play = getattr(getattr(task, "_parent", None), "_play", None)
    groups = (getattr(play, "_action_groups", None) or {}).get(action, [])
    out = {}
    for name in ("group/%s" % g for g in groups):
        if isinstance(merged.get(name), (dict, str)):
            out.update(templar.template(merged[name]) or {})
    short = action.rsplit(".", 1)[-1]
    for name in (action, short, "%s.%s" % (COLLECTION, short)):
        if isinstance(merged.get(name), (dict, str)):
            out.update(templar.template(merged[name]) or {})
    return out


PENDING_NOTE = ("package_id is null: in check mode the package it names does not exist yet (a build or upload that "
                "check mode did not start). A real run %s the package that the build or upload makes.")


class MendixAction(ActionBase):
    """Run the module with the task's options, completed from the action group's module_defaults."""

    TRANSFERS_FILES = False
    # A module that acts on a package: in check mode, a package_id given but null (a template of a build that check
    # mode only predicted) is reported as the change a real run makes, with these keys, instead of failing the play.
    PENDING = None
    PENDING_DOES = None

    def pending(self, args):
        """The check-mode result of a task whose package_id is given but null (or empty on ansible-core before 2.19,
        whose templating cannot give null); None for any other task."""
        if not (self.PENDING is not None and self._play_context.check_mode and "package_id" in self._task.args
                and args.get("package_id") in (None, "")):
            return None
        unknown = self.unknown_options(args)
        if unknown:  # the module does not run, so its own refusal of unknown options is made here
            return dict(failed=True, msg="Unsupported parameters for (%s) module: %s. Supported parameters are in "
                        "ansible-doc %s." % (self._task.resolved_action, ", ".join(unknown), self._task.resolved_action))
        return dict(self.PENDING, changed=True, notes=[PENDING_NOTE % self.PENDING_DOES])

    def unknown_options(self, args):
        """The options in ``args`` that the module's documentation (with its doc fragments) neither names nor
        aliases."""
        found = self._shared_loader_obj.module_loader.find_plugin_with_context(self._task.resolved_action)
        path = found.plugin_resolved_path
        doc = read_docstring(path, verbose=False, ignore_errors=True)["doc"]
        add_fragments(doc, path, fragment_loader=fragment_loader, is_module=True)
        known = set()
        for name, option in doc.get("options", {}).items():
            known.add(name)
            known.update(option.get("aliases") or [])
        return sorted(name for name in args if name not in known)

    def module_args(self):
        args = self._task.args.copy()
        action = self._task.resolved_action or ""
        for key, value in group_defaults(self._task, self._templar, action).items():
            args.setdefault(key, value)
        return args

    def run(self, tmp=None, task_vars=None):
        result = super(MendixAction, self).run(tmp, task_vars)
        del tmp
        args = self.module_args()
        pending = self.pending(args)
        if pending is not None:
            result.update(pending)
            return result
        result.update(self._execute_module(module_name=self._task.resolved_action, module_args=args,
                                           task_vars=task_vars or {}))
        return result

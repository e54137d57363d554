# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  job_journal_dir:
    description:
      - Directory on the controller for the job journal and the locks that let tasks on one controller share work. A
        re-run, another task or another host of the play waits on a build or upload that is still running instead
        of starting another, and one deploy to an environment is done at a time, so hosts that ask for the same
        deploy make one.
      - If not set, the environment variable E(MENDIX_JOB_JOURNAL_DIR) is used, then C(~/.ansible/mendix_private_cloud/jobs).
      - Entries are removed when their job is seen to end, and expire after 24 hours.
      - Before a deploy writes, it records there what the environment ran and what it gets;
        M(mendix.private_cloud.mx_package_prune) reads the same folder and keeps both packages (a rollback target is
        never pruned by tasks that share the folder).
      - On AWX, where each job runs in a fresh container, point it at a persistent volume or set
        C(allow_simultaneous=false) on the job template; controllers that do not share it can each start the same build.
    type: path
"""

# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Whether to wait for the API's asynchronous job to end before returning.
      - With V(false), the module returns the job's id and C(location) for M(mendix.private_cloud.mx_job_wait).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the job, measured on a monotonic clock.
      - The whole task (finding, starting, waiting and reading the result back) ends within this plus one
        O(request_timeout), whatever the API does.
    type: int
    default: 1200
  wait_max_interval:
    description:
      - Longest pause in seconds between two polls of the job. Polling starts at one second and grows with the
        time already waited (about a tenth of it) up to this value.
    type: float
    default: 30
"""

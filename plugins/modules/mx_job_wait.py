#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_job_wait
short_description: Wait for an asynchronous job of the Mendix for Private Cloud Build or Deploy API
version_added: 0.1.0
description:
  - Polls C(GET /jobs/{jobId}) until the job is C(finished) or C(failed), or the timeout passes.
  - The poll interval starts at O(initial_interval) and grows with the time already waited (about a tenth of it) up to
    O(wait_max_interval), so a short job is seen within a second and a ten-minute job costs about 56 polls.
  - A job is failed when its status is C(failed) or when it carries an C(error) object, whatever its status. The last
    lines of its build log are then part of the message.
  - Connection errors and HTTP 429 or 5xx answers while waiting do not end the wait; it goes on until the timeout.
author:
  - mendix.private_cloud maintainers (@mendix-private-cloud)
extends_documentation_fragment:
  - mendix.private_cloud.attributes
  - mendix.private_cloud.connection
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  job_id:
    description:
      - ID of the job, for example RV(mendix.private_cloud.mx_package#module:job.id) of a module run with C(wait=false).
      - Exactly one of O(job_id) and O(job_url) is required.
    type: str
  job_url:
    description:
      - URL of the job, the C(Location) header of the API's 202 answer. The job's id is taken from it and polled
        under O(base_url), so the token is only ever sent to O(base_url).
    type: str
  wait_timeout:
    description:
      - Seconds to wait, measured on a monotonic clock; the same option as in the other modules.
    type: int
    default: 1200
    aliases: [timeout]
  initial_interval:
    description:
      - First pause between two polls, in seconds.
    type: float
    default: 1
  wait_max_interval:
    description:
      - Longest pause between two polls, in seconds; the same option as in the other modules.
    type: float
    default: 30
    aliases: [max_interval]
  fail_on_failure:
    description:
      - Whether a failed job fails the task. With V(false) the task succeeds and RV(status) says C(failed).
    type: bool
    default: true
notes:
  - Build API jobs need a token with C(mx:privatecloud-build:read) or C(write); Deploy API jobs C(mx:deployment:read) or C(write).
seealso:
  - module: mendix.private_cloud.mx_package
"""

EXAMPLES = r"""
- name: Start a build without waiting
  mendix.private_cloud.mx_package:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    branch: main
    revision: 93de884c0b1a2d3e4f5061728394a5b6c7d8e9f0
    wait: false
  register: started

- name: Wait for it by id
  mendix.private_cloud.mx_job_wait:
    job_id: "{{ started.job.id }}"
    wait_timeout: 1800
  register: waited
  when: started.job is not none

- name: Or wait by its Location URL, without failing the play on a failed job
  mendix.private_cloud.mx_job_wait:
    job_url: "{{ started.job.location }}"
    fail_on_failure: false
  register: outcome
  when: started.job is not none
"""

RETURN = r"""
job:
  description: The job as the API last described it, with snake_case keys.
  returned: always
  type: dict
  sample: {"id": "db6ed4d3-8b6d-4c2b-ad2b-2a69d0f7afe0", "status": "finished", "package_id": "63e50976-34bf-4ce4-820b-9e5f106e5fa5"}
status:
  description: C(finished) or C(failed) (or the last status seen, on a timeout).
  returned: always
  type: str
package_id:
  description: ID of the package a finished build or upload job produced.
  returned: when the job produced one
  type: str
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
polls:
  description: How many times the job was polled.
  returned: always
  type: int
log_tail:
  description: Last lines of the build log of a failed job.
  returned: when a job failed and has a log
  type: str
"""

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import SCOPES_READ, MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._jobs import JobFailed, JobTimeout, job_id_from
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, snake


def main():
    module = MendixModule(
        argument_spec=dict(
            job_id=dict(type="str"),
            job_url=dict(type="str"),
            wait_timeout=dict(type="int", default=1200, aliases=["timeout"]),
            initial_interval=dict(type="float", default=1),
            wait_max_interval=dict(type="float", default=30, aliases=["max_interval"]),
            fail_on_failure=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
        mutually_exclusive=[("job_id", "job_url")],
        required_one_of=[("job_id", "job_url")],
    )
    p = module.params
    errors = []
    ref = p["job_id"] if p["job_id"] is not None else p["job_url"]
    try:
        job_id_from(ref)
    except ValueError as exc:
        errors.append(str(exc))
    if p["wait_timeout"] <= 0:
        errors.append("wait_timeout must be more than 0 seconds")
    if p["initial_interval"] <= 0 or p["wait_max_interval"] < p["initial_interval"]:
        errors.append("initial_interval must be more than 0 and wait_max_interval at least initial_interval")
    module.fail_on(errors, changed=False)
    waiter = module.waiter(timeout=p["wait_timeout"], initial_interval=p["initial_interval"], max_interval=p["wait_max_interval"],
                           scopes=SCOPES_READ + " (Build API jobs), or mx:deployment:read or write (Deploy API jobs)")
    try:
        result = waiter.wait(ref)
    except JobFailed as exc:
        result = report(exc.result)
        if p["fail_on_failure"]:
            module.fail_json(msg=exc.message, changed=False, **result)
        module.exit_json(changed=False, **result)
    except JobTimeout as exc:
        module.fail_json(msg=exc.message, changed=False, **report(exc.result))
    except MendixApiError as exc:
        module.fail_api(exc, changed=False)
    module.exit_json(changed=False, **report(result))


def report(result):
    out = dict(result)
    out["job"] = snake(out.get("job")) or {}
    out.pop("id", None)
    if out.get("package_id") is None:
        out.pop("package_id", None)
    return out


if __name__ == "__main__":
    main()

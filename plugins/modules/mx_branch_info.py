#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: mx_branch_info
short_description: Get an app's repository type, branches and commits from the Mendix App Repository API
version_added: 0.2.0
description:
  - Tells the type of an app's Team Server repository (C(git) or C(svn)) and lists its branches, each with its latest
    commit, following the API's cursors through every page.
  - With O(branch), gets that branch and its latest commit (the head a scheduled build wants); with O(commits) too,
    the newest commits of that branch.
  - Branch names are those of the Build API, as M(mendix.private_cloud.mx_package) takes them - C(trunk) or
    C(release-1.2) for SVN, C(main) for git. The App Repository API calls a non-default SVN branch
    C(branches/release-1.2); both names are accepted, and every branch returned carries both (RV(branches[].name) and
    RV(branches[].build_branch)).
  - Read-only; runs the same in check mode.
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
  app_id:
    description:
      - The App ID (a UUID) shown in the Mendix Portal.
    type: str
    required: true
  branch:
    description:
      - One branch to get, with its latest commit. Without it, every branch is listed.
    type: str
  commits:
    description:
      - With O(branch), also list the newest this many commits of the branch (1 to 1000), newest first.
    type: int
notes:
  - Calls the App Repository API at O(repository_url); the token needs the scope C(mx:modelrepository:repo:read).
  - A O(branch) that does not exist fails, naming it; list the branches without O(branch) to see their names.
seealso:
  - module: mendix.private_cloud.mx_package
  - name: App Repository API
    description: Mendix's documentation of the API.
    link: https://docs.mendix.com/apidocs-mxsdk/apidocs/app-repository-api/
"""

EXAMPLES = r"""
- name: Find the head of main
  mendix.private_cloud.mx_branch_info:
    app_id: c533ee0b-f7db-4e62-868b-1192d392ccec
    branch: main
  delegate_to: localhost
  register: main_branch

- name: Show the commit a nightly build would take
  ansible.builtin.debug:
    msg: "{{ main_branch.branch.latest_commit.id }}: {{ main_branch.branch.latest_commit.message }}"

- name: List every branch of an SVN app, and the last 5 commits of a release branch
  mendix.private_cloud.mx_branch_info:
    app_id: 7b3f1c2e-5d4a-4e8b-9c6f-0a1b2c3d4e5f
    branch: release-1.2
    commits: 5
  delegate_to: localhost
"""

RETURN = r"""
info:
  description: The repository, with snake_case keys.
  returned: always
  type: dict
  contains:
    app_id:
      description: App ID.
      type: str
      returned: always
    type:
      description: Repository type, C(git) or C(svn) (the API may add more).
      type: str
      returned: always
    url:
      description: The repository's URL.
      type: str
      returned: always
  sample: {"app_id": "c533ee0b-f7db-4e62-868b-1192d392ccec", "type": "git", "url": "https://git.api.mendix.com/c533ee0b.git"}
branches:
  description: Every branch with its latest commit (without O(branch)), or the one branch asked for.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The App Repository API's name of the branch (C(branches/release-1.2) for an SVN branch).
      type: str
      returned: always
    build_branch:
      description: The name the Build API and M(mendix.private_cloud.mx_package) take for the branch.
      type: str
      returned: always
    latest_commit:
      description: The branch's latest commit - C(id) (a git hash or an SVN revision number, as a string), C(author)
        (C(name), C(email)), C(date), C(message), C(mendix_version), C(related_stories).
      type: dict
      returned: always
branch:
  description: With O(branch), that branch (the one item of RV(branches)).
  returned: with O(branch)
  type: dict
commits:
  description: With O(commits), the newest commits of O(branch), newest first, shaped as RV(branches[].latest_commit).
  returned: with O(commits)
  type: list
  elements: dict
"""

from ansible_collections.mendix.private_cloud.plugins.module_utils._api import MendixApiError
from ansible_collections.mendix.private_cloud.plugins.module_utils._module import MendixModule, check_length, check_uuid, snake
from ansible_collections.mendix.private_cloud.plugins.module_utils._repository import build_branch_name, repository_branch_name


def main():
    module = MendixModule(
        argument_spec=dict(
            app_id=dict(type="str", required=True),
            branch=dict(type="str"),
            commits=dict(type="int"),
        ),
        supports_check_mode=True,
        required_by={"commits": "branch"},
    )
    p = module.params
    errors = check_uuid("app_id", p["app_id"])
    if p["branch"] is not None:
        errors += check_length("branch", p["branch"], 1, 200, " (for SVN apps the main line is trunk)")
    if p["commits"] is not None and not 1 <= p["commits"] <= 1000:
        errors.append("commits must be 1 to 1000, got %d" % p["commits"])
    module.fail_on(errors, changed=False)
    module.check_connection_input()
    app_id = p["app_id"].lower()
    repo = module.repository
    result = dict(changed=False)
    try:
        info = repo.info(app_id)
        vcs = (info.get("type") or "").lower() or None
        result["info"] = snake(info)
        if p["branch"] is None:
            found = repo.branches(app_id)
        else:
            name = repository_branch_name(vcs, p["branch"])
            found = [repo.branch(app_id, name)]
        result["branches"] = [dict(snake(b), build_branch=build_branch_name(vcs, b.get("name") or "")) for b in found]
        if p["branch"] is not None:
            result["branch"] = result["branches"][0]
            if p["commits"]:
                result["commits"] = snake(repo.commits(app_id, name, p["commits"]))
    except MendixApiError as exc:
        module.fail_api(exc, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

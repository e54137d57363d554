# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  base_url:
    description:
      - Base URL of the Mendix for Private Cloud API, ending in C(/api/v4).
      - If not set, the environment variable E(MENDIX_PRIVATE_CLOUD_URL) is used, then the default.
    type: str
    default: https://privatecloud.mendixcloud.com/api/v4
  repository_url:
    description:
      - Base URL of the Mendix App Repository API, ending in C(/v1), for the branches and commits of an app's
        repository (M(mendix.private_cloud.mx_branch_info), and M(mendix.private_cloud.mx_package) building the
        head of a branch). The token needs the scope C(mx:modelrepository:repo:read) there.
      - If not set, the environment variable E(MENDIX_REPOSITORY_URL) is used, then the default.
    type: str
    default: https://repository.api.mendix.com/v1
  token:
    description:
      - "Mendix Personal Access Token (PAT), sent as C(Authorization: MxToken <token>)."
      - If not set, the environment variable E(MENDIX_PAT) is used.
      - Each operation needs its scopes; see the module's notes and the authentication guide.
    type: str
    aliases: [pat]
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate.
      - Set to V(false) only for test servers.
    type: bool
    default: true
  ca_path:
    description:
      - Path to a PEM CA bundle used to verify the API's certificate, instead of the system's.
    type: path
  request_timeout:
    description:
      - Seconds to wait for each HTTP answer. Uploads get at least 300 seconds.
      - A C(base_url) with plain C(http://) to a host other than this machine gives a warning - the token would travel
        unencrypted.
    type: float
    default: 30
  retries:
    description:
      - How many times a request is retried on connection errors, on an answer whose body breaks off, and on HTTP 429,
        500, 502, 503 and 504, with jittered exponential backoff (at most 30 seconds between attempts). One budget
        covers all of these for each call.
      - C(GET), C(PUT) and C(DELETE) are retried; a C(POST) (a build or upload) only when the server certainly did
        not act on it - a connection that could not be opened. Not on HTTP 429 either, which the Mendix API does not
        document, so nothing says such a request was left undone; M(mendix.private_cloud.mx_package) then looks for
        the package instead of sending the request again.
      - A C(Retry-After) answer is honoured up to 60 seconds and up to the task's time left; the API asking for
        longer fails the call with a message that says how long it asked for.
      - Bound of one call, for a module that does not wait on jobs - O(request_timeout) x (O(retries) + 1) plus the
        pauses between attempts. A module that waits ends within C(wait_timeout) plus one O(request_timeout).
    type: int
    default: 5
notes:
  - Proxies are taken from the environment (E(HTTPS_PROXY), E(HTTP_PROXY), E(NO_PROXY)), as the Python C(requests)
    library does.
requirements:
  - requests >= 2.25 and urllib3 >= 1.26 (Python libraries)
"""

    # Lookup and other plugins: the same options, also settable through environment variables and variables.
    PLUGINS = r"""
options:
  base_url:
    description:
      - Base URL of the Mendix for Private Cloud API, ending in C(/api/v4).
    type: str
    default: https://privatecloud.mendixcloud.com/api/v4
    env:
      - name: MENDIX_PRIVATE_CLOUD_URL
    vars:
      - name: mendix_private_cloud_url
  token:
    description:
      - "Mendix Personal Access Token (PAT), sent as C(Authorization: MxToken <token>)."
    type: str
    env:
      - name: MENDIX_PAT
    vars:
      - name: mendix_pat
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate.
    type: bool
    default: true
  ca_path:
    description:
      - Path to a PEM CA bundle used to verify the API's certificate, instead of the system's.
    type: path
  request_timeout:
    description:
      - Seconds to wait for each HTTP answer.
    type: float
    default: 30
  retries:
    description:
      - How many times a request is retried on connection errors, broken answers and on HTTP 429, 500, 502, 503 and 504
        (a C(POST) only on connections that could not be opened), with one budget per call and
        C(Retry-After) honoured up to 60 seconds.
    type: int
    default: 5
requirements:
  - requests >= 2.25 and urllib3 >= 1.26 (Python libraries)
"""

    # Inventory plugins: the same options, from the inventory source or the environment variables.
    INVENTORY = r"""
options:
  base_url:
    description:
      - Base URL of the Mendix for Private Cloud API, ending in C(/api/v4).
    type: str
    default: https://privatecloud.mendixcloud.com/api/v4
    env:
      - name: MENDIX_PRIVATE_CLOUD_URL
  token:
    description:
      - "Mendix Personal Access Token (PAT), sent as C(Authorization: MxToken <token>)."
      - Better left to the environment variable (an AWX credential sets it) than written into the inventory source;
        a vaulted value works too.
    type: str
    aliases: [pat]
    env:
      - name: MENDIX_PAT
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate.
    type: bool
    default: true
  ca_path:
    description:
      - Path to a PEM CA bundle used to verify the API's certificate, instead of the system's.
    type: path
  request_timeout:
    description:
      - Seconds to wait for each HTTP answer.
    type: float
    default: 30
  retries:
    description:
      - How many times a request is retried on connection errors, broken answers and on HTTP 429, 500, 502, 503 and 504,
        with one budget per call and C(Retry-After) honoured up to 60 seconds.
    type: int
    default: 5
requirements:
  - requests >= 2.25 and urllib3 >= 1.26 (Python libraries)
"""

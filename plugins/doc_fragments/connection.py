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
    type: float
    default: 30
  retries:
    description:
      - How many times a request is retried on connection errors and on HTTP 429, 500, 502, 503 and 504, with jittered
        exponential backoff and C(Retry-After) honoured.
      - C(GET), C(PUT) and C(DELETE) are retried; a C(POST) only when the server certainly did not act on it
        (HTTP 429, or a connection that could not be opened).
    type: int
    default: 5
notes:
  - Proxies are taken from the environment (E(HTTPS_PROXY), E(HTTP_PROXY), E(NO_PROXY)), as the Python C(requests)
    library does.
requirements:
  - requests >= 2.25 (Python library)
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
      - How many times a request is retried on connection errors and on HTTP 429, 500, 502, 503 and 504 (a C(POST) only
        on 429 and on connections that could not be opened).
    type: int
    default: 5
requirements:
  - requests >= 2.25 (Python library)
"""

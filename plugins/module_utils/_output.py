# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one output filter: every manifest (or part of one) that leaves a module passes through ``public``.

It removes write-only material wherever it stands, in the API's camelCase or in the snake_case the modules return:

- the runtime secrets (``runtime.subscriptionSecret``, ``runtime.debuggerPassword``, ``runtime.mxAdminPassword``);
- each client certificate's ``key`` and ``password`` (Deploy API 4.13 ``network.outgoingConnectionCertificate[]``);
- any other field whose name says it is a password or a secret (a namespace's ``secret``, for example).

Boolean switches about secrets (``secretsStoreEnabled``, ``enableExternalSecretsStore``) are settings, not secrets,
and are kept.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.common.dict_transformations import _camel_to_snake

# Field names (camelCase or snake_case) whose values are write-only.
_SECRET_NAME = re.compile(r"(?i)(password|secret|passphrase|private_?key)$")
# Lists whose items hold a write-only ``key`` (a certificate's private key, base64 of a .pfx file).
CERTIFICATE_LISTS = ("outgoingConnectionCertificate", "outgoing_connection_certificate")
CERTIFICATE_SECRETS = ("key", "password")


def is_secret(name, value=None):
    """Whether a field of this name (and value) is write-only material."""
    return not isinstance(value, bool) and bool(_SECRET_NAME.search(str(name)))


def public(value, _in_certificates=False):
    """A copy of ``value`` without write-only material (see the module's doc). Anything that is not a dict or a list
    is returned as it is."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if is_secret(key, item) or (_in_certificates and key in CERTIFICATE_SECRETS):
                continue
            out[key] = public(item, key in CERTIFICATE_LISTS)
        return out
    if isinstance(value, list):
        return [public(item, _in_certificates) for item in value]
    return value


def secret_paths(value, prefix="", _in_certificates=False):
    """The dotted paths of the write-only fields in ``value`` (for refusing them in an input fragment)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            path = "%s.%s" % (prefix, key) if prefix else str(key)
            if is_secret(key, item) or (_in_certificates and key in CERTIFICATE_SECRETS):
                found.append(path)
            else:
                found += secret_paths(item, path, key in CERTIFICATE_LISTS)
    elif isinstance(value, list):
        for pos, item in enumerate(value):
            found += secret_paths(item, "%s[%d]" % (prefix, pos), _in_certificates)
    return found


_SNAKE_KEYS = {}


def _snake_key(key):
    """camelCase -> snake_case, converted once per distinct key: the regular expressions behind it are the slow part
    of returning thousands of packages."""
    try:
        return _SNAKE_KEYS[key]
    except KeyError:
        _SNAKE_KEYS[key] = converted = _camel_to_snake(key)
        return converted


def snake(obj):
    """An API object with snake_case keys (nested dicts and lists too), as camel_dict_to_snake_dict gives."""
    if isinstance(obj, dict):
        return dict((_snake_key(k), snake(v)) for k, v in obj.items())
    if isinstance(obj, list):
        return [snake(v) for v in obj]
    return obj

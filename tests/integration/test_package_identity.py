"""Package identity under the emulator's default behaviour and every list order the API's docs allow."""

import pytest

from identity_cases import *  # noqa: F401,F403  pylint: disable=wildcard-import,unused-wildcard-import

SETTINGS = {"default": [], "oldest-first": ["--list-order", "oldest"], "shuffled": ["--list-order", "shuffled"]}


@pytest.fixture(scope="module", params=list(SETTINGS))
def emulator_args(request):
    return SETTINGS[request.param]

"""Package identity when the server clamps page sizes, sends the doc's v3 Location, or names packages opaquely."""

import pytest

from identity_cases import *  # noqa: F401,F403  pylint: disable=wildcard-import,unused-wildcard-import

SETTINGS = {"page-size-7": ["--max-page-size", "7"], "location-v3": ["--location-version", "v3"],
            "opaque-names": ["--naming", "opaque"]}


@pytest.fixture(scope="module", params=list(SETTINGS))
def emulator_args(request):
    return SETTINGS[request.param]

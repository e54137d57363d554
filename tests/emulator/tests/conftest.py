"""Fixtures of the emulator's HTTP tests; the helpers live in emutest.py."""

import sys

import pytest

from emutest import Api, fast_args
from mxpc_emulator.testing import EmulatorProcess


@pytest.fixture(scope="module")
def emulator():
    with EmulatorProcess(args=fast_args(), python=sys.executable) as emu:
        yield emu


@pytest.fixture
def api(emulator):  # pylint: disable=redefined-outer-name
    emulator.control("POST", "reset")
    return Api(emulator)

"""Fixtures of the integration tests; the helpers live in harness.py."""

import pytest

from harness import FAST
from mxpc_emulator.testing import EmulatorProcess


@pytest.fixture(scope="module")
def emulator():
    with EmulatorProcess(args=FAST) as emu:
        yield emu


@pytest.fixture
def emu(emulator):  # pylint: disable=redefined-outer-name
    emulator.control("POST", "reset")
    return emulator

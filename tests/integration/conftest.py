"""Fixtures of the integration tests; the helpers live in harness.py."""

import pytest

from harness import FAST
from mxpc_emulator.testing import EmulatorProcess


@pytest.fixture(scope="module")
def emulator_args(request):
    """Extra emulator flags; a test module or a test parametrizes it indirectly."""
    return list(getattr(request, "param", []))


@pytest.fixture(scope="module")
def emulator(emulator_args):  # pylint: disable=redefined-outer-name
    with EmulatorProcess(args=FAST + emulator_args) as emu:
        yield emu


@pytest.fixture
def emu(emulator):  # pylint: disable=redefined-outer-name
    emulator.control("POST", "reset")
    return emulator

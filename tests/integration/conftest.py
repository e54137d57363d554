"""Fixtures of the integration tests; the helpers live in harness.py."""

import pytest

from harness import FAST
from mxpc_emulator.testing import EmulatorProcess


# The files whose tests take longest (the run's 25 slowest tests name them), first. With --dist loadfile each worker
# takes a whole file; a long file taken last keeps one worker busy while the others idle, so the quick files (the
# other integration files, then the emulator's and the unit tests) come last and fill the end of the run.
LONGEST_FIRST = ["test_deployment.py", "test_environment.py", "test_trust.py", "test_fleet.py", "test_faults.py",
                 "test_examples.py", "test_resilience.py", "test_mx_package.py", "test_download.py", "test_ready.py",
                 "test_eda.py", "test_reliability.py"]


def pytest_collection_modifyitems(items):
    """Order the whole session's files (this hook sees every item, the unit and emulator tests' too): the longest
    integration files first, the other integration files, then the rest; a file's own order is kept."""
    def rank(item):
        path = item.nodeid.split("::", 1)[0]
        name = path.rsplit("/", 1)[-1]
        if "tests/integration/" in path:
            return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)
        return len(LONGEST_FIRST) + 1
    items.sort(key=rank)


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

"""Contract: schemathesis drives the official Build API spec against the emulator.

The spec is reference data kept beside the project (../shared/reference); without it this test is skipped.
"""

import os
import subprocess
import sys

import pytest

from emutest import ADMIN, REFERENCE, fast_args
from mxpc_emulator.testing import EmulatorProcess

BUILD_SPEC = os.path.join(REFERENCE, "private-cloud-build-api.yaml")


@pytest.mark.skipif(not os.path.exists(BUILD_SPEC), reason="the official spec is not beside the project (../shared/reference)")
def test_build_api_spec_conformance(tmp_path):
    schemathesis = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    with EmulatorProcess(args=fast_args()) as emu:
        result = subprocess.run(
            [schemathesis, "run", BUILD_SPEC, "--url", emu.url, "-H", f"Authorization: MxToken {ADMIN}",
             "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance,response_headers_conformance",
             "--max-examples", "40", "--workers", "1", "--seed", "20261129", "--no-color"],
            capture_output=True, text=True, timeout=600, check=False, cwd=str(tmp_path),
        )
        tested = [e for e in emu.requests() if e["status"] is not None]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Tested: 6" in result.stdout
    assert len(tested) > 200
    assert not [e for e in tested if e["status"] >= 500]

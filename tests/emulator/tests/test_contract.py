"""Contract: schemathesis drives Mendix's official specs against the emulator, with every check and every phase.

The Build API spec 4.3.0 and the Deploy API spec 4.13 (for the routes the emulator serves) are reference data beside
the project (../shared/reference). Without them the test is skipped, except under CI=true, where that is a failure.
Where the emulator departs from a spec on purpose, the departure is listed here and in the emulator's README with
its reason; any other failure fails the test.
"""

import os
import re
import subprocess
import sys
import time

import pytest
import requests

from emutest import ADMIN, GIT_APP, REFERENCE, fast_args
from mxpc_emulator.testing import EmulatorProcess

BUILD_SPEC = os.path.join(REFERENCE, "private-cloud-build-api.yaml")
DEPLOY_SPEC = os.path.join(REFERENCE, "privatecloud-deploy-v4.yaml")
SERVED_DEPLOY_PATHS = (r"^/(apps/\{appId\}/environments|apps/\{appId\}/namespaces/\{namespaceId\}/environments/\{environmentId\}|"
                       r"jobs/\{jobId\})$")
PLATFORM_PATHS = r"^/(clusters(/\{clusterId\}(/namespaces(/\{namespaceId\})?)?)?|apps(/\{appId\})?|cli(/\{cliVersionValue\})?)$"

# (operation, schemathesis failure code): why the emulator answers so. The emulator's README lists the same.
BUILD_DEPARTURES = {
    ("POST /apps/{appId}/packages", "ST103"): "404 for an unknown app, as every other route of the app documents",
    ("POST /apps/{appId}/packages/build", "ST103"): "404 for an unknown app, as every other route of the app documents",
    ("GET /apps/{appId}/packages", "ST103"): "400 for an offset or limit that is not a whole number in range",
    ("GET /apps/{appId}/packages/{packageId}", "ST103"): "400 for url or log that is not true or false",
    ("POST /apps/{appId}/packages", "ST202"): "a body without its file and fileName parts is refused: the spec's "
                                              "schema requires both but does not mark the request body required",
    ("POST /apps/{appId}/packages/build", "ST202"): "a version that is not x.y.z is refused, as the spec's prose says "
                                                    "(its schema gives no pattern)",
}
STRATEGY_DEFECT = ("the GET manifest schema declares deploymentStrategy an object with a string enum, which no value "
                   "satisfies (a known spec defect); the emulator answers the object the write schema describes")
DEPLOY_DEPARTURES = {
    ("GET /apps/{appId}/namespaces/{namespaceId}/environments/{environmentId}", "ST101"): STRATEGY_DEFECT,
    ("GET /apps/{appId}/namespaces/{namespaceId}/environments/{environmentId}", "ST108"): STRATEGY_DEFECT,
    ("GET /apps/{appId}/environments", "ST108"): STRATEGY_DEFECT,
    ("GET /apps/{appId}/environments", "ST103"):
        "400 for an offset or limit that is not a whole number in range (limit 1..100); the spec gives no range and lists no 400",
    ("GET /apps/{appId}/environments", "ST202"): "the same: a negative offset or limit is schema-valid and refused",
    ("PUT /apps/{appId}/namespaces/{namespaceId}/environments/{environmentId}", "ST202"):
        "a manifest whose environment.id is not the path's environment is refused; the spec does not say which wins",
    ("POST /apps/{appId}/environments", "ST103"): "404 for an unknown app, as every other route of the app documents",
    ("POST /apps/{appId}/environments", "ST202"):
        "a new environment's manifest is refused when it names a namespace the cluster does not have, has an empty "
        "packageId, a list item without its name (key for annotations), or a constant or scheduled event the app's "
        "model does not define; the schema requires none of these",
}

# The Deploy API's clusters, namespaces, apps and mxpc-cli (4.13).
JOB_FIRST = ("a write answers 202 with a job, and the resource exists once its job has finished, as the API's "
             "documentation says; the stateful test's next request comes first")
LIMITS = "400 for an offset or limit that is not a whole number in range (limit 1..100); the spec gives no range and lists no 400"
PLATFORM_DEPARTURES = {
    ("GET /clusters", "ST103"): LIMITS,
    ("GET /clusters", "ST202"): "the same: an offset or limit out of range is schema-valid and refused",
    ("GET /clusters/{clusterId}/namespaces", "ST103"): LIMITS,
    ("GET /clusters/{clusterId}/namespaces", "ST202"): "the same: an offset or limit out of range is schema-valid and refused",
    ("GET /apps", "ST103"): LIMITS,
    ("GET /apps", "ST202"): "the same: an offset or limit out of range is schema-valid and refused",
    ("POST /clusters", "ST202"): "a manifest without its cluster part is refused: the schema marks only manifestVersion "
                                 "required",
    ("POST /clusters", "ST302"): JOB_FIRST,
    ("PUT /clusters/{clusterId}", "ST202"): "a manifest whose cluster.clusterId is not the path's cluster is refused; the "
                                            "spec does not say which wins",
    ("POST /clusters/{clusterId}/namespaces", "ST103"): "404 for an unknown cluster, as every other route of the cluster "
                                                        "documents",
    ("POST /clusters/{clusterId}/namespaces", "ST202"): "a request without its manifest is refused: the spec does not "
                                                        "mark the request body required",
    ("POST /clusters/{clusterId}/namespaces", "ST302"): JOB_FIRST,
}
# A DELETE answers 202 with a job too: the cluster or namespace is served until its job has finished. Whether the
# stateful test's next request comes before that depends on the machine's speed, so any operation may show it.
DELETE_JOB = "a DELETE answers 202 with a job; the resource is served until the job has finished, as the documentation says"
PLATFORM_DEPARTURES.update({(operation, "ST301"): DELETE_JOB for operation in (
    "GET /clusters", "POST /clusters", "GET /clusters/{clusterId}", "PUT /clusters/{clusterId}",
    "DELETE /clusters/{clusterId}", "GET /clusters/{clusterId}/namespaces", "POST /clusters/{clusterId}/namespaces",
    "GET /clusters/{clusterId}/namespaces/{namespaceId}", "PUT /clusters/{clusterId}/namespaces/{namespaceId}",
    "DELETE /clusters/{clusterId}/namespaces/{namespaceId}")})


def reference_or_skip(path):
    if os.path.exists(path):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{path} is missing: under CI=true the contract must run against the official spec")
    pytest.skip("the official specs are not beside the project (../shared/reference)")


def failures(stdout):
    """(operation, code) pairs of the failures in schemathesis' text report. A stateful scenario's failures are
    put on the operation of the request that failed, read from its "Reproduce with" curl line."""
    found, operation, pending = set(), None, []
    for line in stdout.splitlines():
        header = re.match(r"^_+ ([A-Z]+ /\S*|Stateful tests) _+$", line.strip())
        if header:
            operation = None if header.group(1) == "Stateful tests" else header.group(1)
            continue
        code = re.match(r"^- (ST\d+) ", line.strip())
        if code and operation:
            found.add((operation, code.group(1)))
        elif code:
            pending.append(code.group(1))
        curl = re.match(r"^curl -X ([A-Z]+) .*?'?https?://[^/\s]+/api/v4(/[^?'\s]*)", line.strip())
        if curl and pending:
            found.update((f"{curl.group(1)} {template(curl.group(2))}", c) for c in pending)
            pending = []
    return found | {("stateful scenario", c) for c in pending}


def template(path):
    """The spec's path template of a concrete path of the routes tested."""
    patterns = [(r"^/apps/[^/]+/namespaces/[^/]+/environments/[^/]+$", "/apps/{appId}/namespaces/{namespaceId}/environments/{environmentId}"),
                (r"^/apps/[^/]+/environments$", "/apps/{appId}/environments"),
                (r"^/apps/[^/]+/packages/build$", "/apps/{appId}/packages/build"),
                (r"^/apps/[^/]+/packages/[^/]+$", "/apps/{appId}/packages/{packageId}"),
                (r"^/apps/[^/]+/packages$", "/apps/{appId}/packages"),
                (r"^/jobs/[^/]+$", "/jobs/{jobId}"),
                (r"^/clusters/[^/]+/namespaces/[^/]+$", "/clusters/{clusterId}/namespaces/{namespaceId}"),
                (r"^/clusters/[^/]+/namespaces$", "/clusters/{clusterId}/namespaces"),
                (r"^/clusters/[^/]+$", "/clusters/{clusterId}"),
                (r"^/apps/[^/]+$", "/apps/{appId}"),
                (r"^/cli/[^/]+$", "/cli/{cliVersionValue}")]
    return next((name for pattern, name in patterns if re.match(pattern, path)), path)


def run_schemathesis(emu, spec, tmp_path, *extra):
    schemathesis = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    return subprocess.run(
        [schemathesis, "run", spec, "--url", emu.url, "-H", f"Authorization: MxToken {ADMIN}", "--checks", "all",
         "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", "40", "--workers", "1",
         "--seed", "20261129", "--no-color", *extra],
        capture_output=True, text=True, timeout=900, check=False, cwd=str(tmp_path),
    )


def test_build_api_contract(tmp_path):
    reference_or_skip(BUILD_SPEC)
    with EmulatorProcess(args=fast_args()) as emu:
        result = run_schemathesis(emu, BUILD_SPEC, tmp_path)
        tested = [e for e in emu.requests() if e["status"] is not None]
    assert "Tested: 6" in result.stdout, result.stdout[-3000:]
    assert "Stateful" in result.stdout
    unexpected = failures(result.stdout) - set(BUILD_DEPARTURES)
    assert not unexpected, (unexpected, result.stdout[-8000:])
    assert len(tested) > 200 and not [e for e in tested if e["status"] >= 500]


def test_deploy_api_contract_for_the_routes_served(tmp_path):
    reference_or_skip(DEPLOY_SPEC)
    with EmulatorProcess(args=fast_args()) as emu:
        result = run_schemathesis(emu, DEPLOY_SPEC, tmp_path, "--include-path-regex", SERVED_DEPLOY_PATHS)
        tested = [e for e in emu.requests() if e["status"] is not None]
    assert "Tested: 6" in result.stdout, result.stdout[-3000:]
    unexpected = failures(result.stdout) - set(DEPLOY_DEPARTURES)
    assert not unexpected, (unexpected, result.stdout[-8000:])
    assert len(tested) > 50 and not [e for e in tested if e["status"] >= 500]


def test_deploy_api_contract_for_clusters_namespaces_apps_and_cli(tmp_path):
    reference_or_skip(DEPLOY_SPEC)
    with EmulatorProcess(args=fast_args()) as emu:
        result = run_schemathesis(emu, DEPLOY_SPEC, tmp_path, "--include-path-regex", PLATFORM_PATHS)
        tested = [e for e in emu.requests() if e["status"] is not None]
    assert "Tested: 14" in result.stdout, result.stdout[-3000:]
    unexpected = failures(result.stdout) - set(PLATFORM_DEPARTURES)
    assert not unexpected, (sorted(unexpected), result.stdout[-8000:])
    assert len(tested) > 100 and not [e for e in tested if e["status"] >= 500]


def test_the_readme_lists_every_departure():
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md"),
              encoding="utf-8") as handle:
        readme = handle.read()
    for operation, code in list(BUILD_DEPARTURES) + list(DEPLOY_DEPARTURES) + list(PLATFORM_DEPARTURES):
        assert f"`{operation}` ({code})" in readme, (operation, code)


def test_the_specs_job_example_status_created_with_an_error():
    """The spec's example job has status created next to an error; the emulator answers so when asked to."""
    reference_or_skip(BUILD_SPEC)
    with open(BUILD_SPEC, encoding="utf-8") as handle:
        assert "example-job-failed-without-code" in handle.read()
    with EmulatorProcess(args=fast_args() + ["--failed-job-status", "created"]) as emu:
        session = requests.Session()
        session.headers["Authorization"] = f"MxToken {ADMIN}"
        job = session.post(f"{emu.url}/apps/{GIT_APP}/packages/build", timeout=10,
                           json={"branch": "nope", "revision": "6f995268"}).json()
        deadline = time.monotonic() + 10
        body = {}
        while not body.get("error") and time.monotonic() < deadline:
            time.sleep(0.05)
            body = session.get(f"{emu.url}/jobs/{job['id']}", timeout=10).json()
        assert body["status"] == "created" and body["error"]["message"].startswith("Branch 'nope' was not found")

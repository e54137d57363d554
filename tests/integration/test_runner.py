"""ansible-runner, the way AWX runs a job: the demo playbook with the credential's environment injected."""

import os
import shutil

import ansible_runner

from harness import ADMIN, GIT_APP, packages_of

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_runner_job_hands_off_mendix_package_id(emu, tmp_path):
    private = tmp_path / "job"
    (private / "project").mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, "tests", "demo", "demo.yml"), private / "project" / "demo.yml")
    # What the "Mendix for Private Cloud" credential type injects (docs/examples/awx/credential_type.yml).
    envvars = {"MENDIX_PAT": ADMIN, "MENDIX_PRIVATE_CLOUD_URL": emu.url, "MENDIX_REPOSITORY_URL": emu.root + "/v1",
               "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"]}
    result = ansible_runner.run(private_data_dir=str(private), playbook="demo.yml", envvars=envvars, quiet=True,
                                inventory=f"localhost ansible_connection=local ansible_python_interpreter={os.environ['ANSIBLE_PYTHON_INTERPRETER']}")
    assert result.status == "successful" and result.rc == 0, result.stdout.read()
    stats = [e for e in result.events if e["event"] == "playbook_on_stats"]
    artifact = stats[-1]["event_data"]["artifact_data"]
    listed = packages_of(emu, GIT_APP)
    assert artifact["mendix_package_id"] == listed[0]["id"] and len(listed) == 1
    # Everything the job printed and every event: no token. (The runner's own "command" file records the environment
    # it was started with, as AWX's does; it is not output of the collection.)
    for folder, _dirs, files in os.walk(private / "artifacts"):
        for name in files:
            if name == "command":
                continue
            with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as handle:
                assert ADMIN not in handle.read(), os.path.join(folder, name)

"""Integration harness: real ansible-playbook runs against a real emulator process."""

import json
import os
import subprocess
import zipfile


from mxpc_emulator import seed as seedmod

HERE = os.path.dirname(os.path.abspath(__file__))
PLAYBOOKS = os.path.join(HERE, "playbooks")
# The playbooks hand their result over by setting the fact test_result; this callback writes it to result_file.
RESULT_CALLBACK = {"ANSIBLE_CALLBACK_PLUGINS": os.path.join(HERE, "callback_plugins")}
ADMIN = "mxpc-demo-admin-0f3c9a7e51d24b6f"
READONLY = "mxpc-demo-readonly-7d1e2b9c40a5"
NO_MODELREPO = "mxpc-demo-nomodelrepo-3a8f6e2d19c7"
TOKENS = {"admin": ADMIN, "readonly": READONLY, "no-modelrepo": NO_MODELREPO}
GIT_APP = seedmod.DEMO_GIT_APP_ID
SVN_APP = seedmod.DEMO_SVN_APP_ID
NAMESPACE = seedmod.DEMO_NAMESPACE_ID
REV1 = "6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4"
REV2 = "93de884c0b1a2d3e4f5061728394a5b6c7d8e9f0"
REV3 = "1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d"
FAILING = "deadbeef00112233445566778899aabbccddeeff"
FAST = ["--build-seconds", "1", "--upload-seconds", "0.3", "--delete-seconds", "0.3", "--deploy-seconds", "0.5",
        "--start-seconds", "0.5"]


class Run:
    """The outcome of one ansible-playbook run."""

    def __init__(self, proc, result_file):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.result = None
        text = self.stdout + self.stderr
        if os.path.exists(result_file):
            with open(result_file, encoding="utf-8") as handle:
                raw = handle.read()
            text += raw
            self.result = json.loads(raw)
        leaked = [name for name, token in TOKENS.items() if token in text]
        assert not leaked, f"the {leaked} token appears in the output or the returned values"

    def __repr__(self):
        return f"Run(rc={self.rc})\n{self.stdout[-4000:]}\n{self.stderr[-2000:]}"


def run_playbook(emu, name, tmp_path, token=ADMIN, check=False, diff=False, verbosity=0, env=None, base_url=None,
                 playbook_dir=None, vars_=None, inventory=None, extra_args=(), **extra_vars):
    """Run playbooks/<name>.yml; extra vars (vars_ and keywords) go as JSON; the playbook may write `result_file`.

    Without `inventory` the play runs on localhost with the local connection; with it, on that inventory's hosts.
    """
    extra_vars = dict(vars_ or {}, **extra_vars)
    result_file = str(tmp_path / f"result-{name}-{len(list(tmp_path.iterdir()))}.json")
    extra_vars["result_file"] = result_file
    where = ["-i", inventory] if inventory else ["-i", "localhost,", "-c", "local"]
    cmd = ["ansible-playbook", *where, os.path.join(playbook_dir or PLAYBOOKS, f"{name}.yml"), "-e", json.dumps(extra_vars),
           *extra_args]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    run_env = dict(os.environ)
    run_env.update({"MENDIX_PRIVATE_CLOUD_URL": base_url or emu.url, "MENDIX_REPOSITORY_URL": repository_url(emu),
                    "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
                    "MENDIX_JOB_JOURNAL_DIR": str(tmp_path / "journal"), **RESULT_CALLBACK})
    if token is None:
        run_env.pop("MENDIX_PAT", None)
    else:
        run_env["MENDIX_PAT"] = token
    run_env.update(env or {})
    proc = subprocess.run(cmd, capture_output=True, text=True, env=run_env, timeout=600, check=False)
    return Run(proc, result_file)


def repository_url(emu):
    """The emulator's App Repository API: /v1 on the same server as the Build API's /api/v4."""
    return emu.url.rsplit("/api/v4", 1)[0] + "/v1"


def digest_name(path, name=None):
    """The name an upload of `path` is stored under: the file name with its content tag before .mda."""
    import hashlib  # pylint: disable=import-outside-toplevel

    with open(path, "rb") as handle:
        tag = hashlib.sha256(handle.read()).hexdigest()[:16]
    stem = name or os.path.basename(path)
    stem = stem[:-4] if stem.lower().endswith(".mda") else stem
    return f"{stem}.sha256-{tag}.mda"


def write_requests(emu):
    return [r for r in emu.requests() if r["method"] != "GET"]


def make_mda(path, size=4096, model_version="2.2.1.19665"):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("model/metadata.json", json.dumps({"ModelVersion": model_version, "RuntimeVersion": "10.6.0.1"}))
        archive.writestr("blob.bin", os.urandom(size))
    return str(path)


def packages_of(emu, app=GIT_APP):
    import urllib.request  # pylint: disable=import-outside-toplevel

    req = urllib.request.Request(f"{emu.url}/apps/{app}/packages?limit=50", headers={"Authorization": f"MxToken {ADMIN}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["packages"]

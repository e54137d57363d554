"""Every example runs: each plugin's EXAMPLES block, as a play against the emulator's demo seed, twice in a row; the
second run changes nothing. The blocks run in one order on one emulator, as a user reading the docs top to bottom
would run them (the deployment examples promote to the acceptance environment the mx_environment examples create).

The plugins' examples run from the collection as a user receives it: the tarball that `ansible-galaxy collection
build` makes of the project's files, installed by `ansible-galaxy collection install` into a collections path of its
own, which is the only one the playbook sees (with the ansible-core of the run: the newest here, the oldest in the
matrix).

The playbooks under docs/examples run elsewhere, each twice: the AWX job templates in test_awx_nightly.py, the
ansible-rulebook example in test_eda.py and its playbook below. docs/examples/awx/workflow.yml configures an AWX
controller with awx.awx and needs one: ansible-lint checks it (with the awx.awx modules mocked), nothing runs it.
"""

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from harness import ADMIN, FAST, GIT_APP, HERE, RESULT_CALLBACK, make_mda, repository_url
from mxpc_emulator.testing import EmulatorProcess

ROOT = os.path.dirname(os.path.dirname(HERE))
# the order a reader would run them in: build first, then what uses the builds
PLUGINS = ["modules/mx_cluster", "modules/mx_cluster_info", "modules/mx_namespace", "modules/mx_namespace_info",
           "modules/mx_cli_info", "modules/mx_cli_download", "modules/mx_app_info",
           "modules/mx_package", "modules/mx_package_info", "modules/mx_package_download", "modules/mx_job_wait",
           "modules/mx_branch_info", "lookup/mx_package", "modules/mx_environment", "modules/mx_environment_info",
           "modules/mx_deployment", "modules/mx_package_prune"]
# what the examples take from a vault or an inventory
EXAMPLE_VARS = {"vault_mx_admin_password": "an example password", "vault_namespace_secret": "ZXhhbXBsZS1zZWNyZXQ="}


def examples(plugin):
    with open(os.path.join(ROOT, "plugins", plugin + ".py"), encoding="utf-8") as handle:
        text = handle.read()
    return yaml.safe_load(re.search(r'EXAMPLES = r"""(.*?)"""', text, re.S).group(1))


def ansible_playbook(emu, playbook, workdir, *args, collections=None):
    env = dict(os.environ, MENDIX_PRIVATE_CLOUD_URL=emu.url, MENDIX_REPOSITORY_URL=repository_url(emu), MENDIX_PAT=ADMIN,
               MENDIX_JOB_JOURNAL_DIR=os.path.join(workdir, "journal"), ANSIBLE_NOCOLOR="1", **RESULT_CALLBACK)
    if collections:
        env.update(only_collections(collections))
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", playbook, *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert ADMIN not in proc.stdout + proc.stderr
    return proc


def recap(proc):
    """(changed, failed) of localhost from the play recap."""
    match = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", proc.stdout)
    assert match, proc.stdout[-3000:] + proc.stderr[-2000:]
    return int(match.group(1)), int(match.group(2))


def only_collections(path):
    """The environment in which Ansible sees the collections of `path` and no other copy: not the checkout's link on
    PYTHONPATH, nor anything else on sys.path."""
    pythonpath = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                  if p and not os.path.isdir(os.path.join(p, "ansible_collections"))]
    return {"ANSIBLE_COLLECTIONS_PATH": str(path), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "PYTHONPATH": os.pathsep.join(pythonpath)}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A collections path holding only the collection installed from its tarball, built from the project's files
    (tracked, or new and not ignored) as a release would be."""
    base = tmp_path_factory.mktemp("tarball")
    tree = base / "tree"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    for name in filter(None, listed.split("\0")):
        source = os.path.join(ROOT, name)
        if os.path.isfile(source):
            os.makedirs(tree / os.path.dirname(name), exist_ok=True)
            shutil.copy2(source, tree / name)
    subprocess.run(["ansible-galaxy", "collection", "build", "--output-path", str(base), str(tree)],
                   capture_output=True, text=True, check=True, timeout=300)
    tarball = next(base.glob("mendix-private_cloud-*.tar.gz"))
    collections = base / "collections"
    subprocess.run(["ansible-galaxy", "collection", "install", "-p", str(collections), str(tarball)],
                   env=dict(os.environ, **only_collections(collections)), capture_output=True, text=True, check=True,
                   timeout=300)
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        version = yaml.safe_load(handle)["version"]
    assert tarball.name == f"mendix-private_cloud-{version}.tar.gz"
    listing = subprocess.run(["ansible-galaxy", "collection", "list", "mendix.private_cloud", "--format", "json"],
                             env=dict(os.environ, **only_collections(collections)), capture_output=True,
                             text=True, check=True, timeout=300).stdout
    # the one copy Ansible sees is the installed one, at the tarball's version
    assert json.loads(listing) == {str(collections / "ansible_collections"): {
        "mendix.private_cloud": {"version": version}}}, listing
    return str(collections)


@pytest.fixture(scope="module")
def demo_emulator():
    with EmulatorProcess(args=FAST) as emu:
        yield emu


def registered(tasks):
    """The names a block of tasks registers or sets as facts."""
    names = set()
    for task in tasks:
        names.update([task["register"]] if "register" in task else [])
        for key in ("ansible.builtin.set_fact", "set_fact"):
            names.update(task.get(key) or {})
    return names


def expressions(value, key=None):
    """The Jinja expressions in a block of tasks: what {{ }} encloses, and the conditions (when, until, that, ...)."""
    found = []
    if isinstance(value, dict):
        for name, item in value.items():
            found += expressions(item, name)
    elif isinstance(value, list):
        for item in value:
            found += expressions(item, key)
    elif isinstance(value, str):
        found += re.findall(r"{{(.*?)}}", value, re.S)
        if key in ("when", "until", "that", "failed_when", "changed_when"):
            found.append(value)
    return found


def test_every_plugin_example_runs_twice_from_the_installed_tarball(demo_emulator, installed, tmp_path):
    """Each plugin's examples run as a play, then again as the next play, in one playbook (one ansible-playbook start
    for all, not two per plugin), from the collection installed from its tarball; the play_stats callback gives each
    play's recap and the second run of each block changes nothing. A play sees what earlier plays
    registered, which a reader running one block of examples alone would not have: no task may use a name that no
    earlier task of its own block (or the task itself) registers."""
    emu = demo_emulator
    files = tmp_path / "files"
    files.mkdir()
    make_mda(files / "my-app_2.2.1.mda")  # the upload example's file, in the playbook's files/ folder
    (tmp_path / "vars.json").write_text(json.dumps(EXAMPLE_VARS))
    blocks = {}
    for plugin in PLUGINS:
        kind, name = plugin.split("/")
        blocks[name + ("_lookup" if kind == "lookup" else "")] = (plugin, examples(plugin))
    everywhere = set().union(*(registered(tasks) for dummy, tasks in blocks.values()))
    plays = []
    for name, (plugin, tasks) in blocks.items():
        known = set()
        for task in tasks:
            text = re.sub(r"'[^']*'|\"[^\"]*\"", "''", "\n".join(expressions(task)))  # names, not strings
            used = {n for n in everywhere if re.search(r"\b%s\b" % re.escape(n), text)}
            borrowed = sorted(used - known - registered([task]))
            assert not borrowed, f"{plugin}: the task {task.get('name')!r} uses {borrowed}, which its block has not registered"
            known |= registered([task])
        for run in ("first", "second"):
            plays.append({"name": f"{run} run of the examples of {plugin}", "hosts": "localhost", "gather_facts": False,
                          "tasks": tasks})
    path = tmp_path / "examples.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    stats_file = tmp_path / "stats.json"
    proc = ansible_playbook(emu, str(path), str(tmp_path), "-e", "@vars.json", "-e", f"play_stats_file={stats_file}",
                            collections=installed)
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    outcomes = {}
    for name, (plugin, dummy) in blocks.items():
        for run in ("first", "second"):
            play = f"{run} run of the examples of {plugin}"
            assert play in stats, (play, "did not run", proc.stdout[-4000:] + proc.stderr[-2000:])
            outcomes.setdefault(name, []).append((stats[play]["changed"], stats[play]["failed"]))
    for name, (first, second) in outcomes.items():
        assert first[1] == 0, (name, first, proc.stdout[-4000:])
        assert second == (0, 0), (name, second, proc.stdout[-4000:])
    assert recap(proc)[1] == 0, proc.stdout[-4000:]
    # the examples did something: builds, an upload, a download, environments created and deployed to
    changed_first = {name: first[0] for name, (first, _second) in outcomes.items()}
    assert changed_first["mx_package"] >= 3 and changed_first["mx_environment"] >= 2, changed_first
    assert changed_first["mx_deployment"] >= 1 and changed_first["mx_package_download"] >= 1, changed_first
    assert changed_first["mx_cluster"] >= 1 and changed_first["mx_namespace"] >= 1, changed_first
    assert changed_first["mx_cli_download"] == 2, changed_first
    envs = {e["environmentId"]: e for e in emu.control("GET", "environments")}
    assert envs["acceptance"]["packageId"] == envs["gitdemo"]["packageId"] and envs["acceptance"]["instances"] == 2


def test_the_rulebook_example_playbook_runs_twice(emulator, tmp_path):
    emu = emulator
    build = emu.control("POST", "packages", {"appId": GIT_APP, "count": 1, "branch": "main"})["ids"][0]
    eda = os.path.join(ROOT, "docs", "examples", "eda")
    with open(os.path.join(eda, "vars.yml"), encoding="utf-8") as handle:
        rulebook_vars = yaml.safe_load(handle)
    with open(os.path.join(eda, "rulebook.yml"), encoding="utf-8") as handle:
        action = yaml.safe_load(handle)[0]["rules"][0]["action"]["run_playbook"]
    # the extra vars as ansible-rulebook hands them over: the rulebook's, rendered with vars.yml, and the event
    given = {k: rulebook_vars[re.match(r"^\{\{ (\w+) \}\}$", v).group(1)] for k, v in action["extra_vars"].items()}
    given["ansible_eda"] = {"event": {"package": {"id": build, "branch": "main"}}}
    (tmp_path / "event.json").write_text(json.dumps(given))
    playbook = os.path.join(eda, action["name"])
    outcomes = [recap(ansible_playbook(emu, playbook, str(tmp_path), "-e", "@event.json")) for _run in ("first", "second")]
    assert outcomes == [(1, 0), (0, 0)], outcomes


def readme_first_playbook():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        section = handle.read().split("## A first playbook", 1)[1]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


def test_the_readme_first_playbook_runs_in_check_mode_then_twice(emu, tmp_path):
    """A new user's first steps: --check while the build is still to come (its package_id is null), then for real,
    then again (nothing changes)."""
    (tmp_path / "first.yml").write_text(readme_first_playbook())
    checked = ansible_playbook(emu, "first.yml", str(tmp_path), "--check", "-v")
    assert recap(checked) == (2, 0), checked.stdout[-3000:]
    deploy = checked.stdout.split("TASK [Deploy it")[1]
    assert "package_id is null: in check mode the package it names does not exist yet" in deploy, deploy[:2000]
    assert [r for r in emu.requests() if r["method"] not in ("GET", "HEAD")] == []
    # the deploy the module did not run still refuses an option it does not know, as the module would
    (tmp_path / "typo.yml").write_text(readme_first_playbook().replace("package_id:", "restartt: true\n        package_id:"))
    typo = ansible_playbook(emu, "typo.yml", str(tmp_path), "--check")
    assert recap(typo) == (1, 1) and "Unsupported parameters for (mendix.private_cloud.mx_deployment) module: restartt" \
        in typo.stdout, typo.stdout[-3000:]
    outcomes = [recap(ansible_playbook(emu, "first.yml", str(tmp_path))) for _run in ("first", "second")]
    assert outcomes == [(2, 0), (0, 0)], outcomes

"""What covers a change: the inner loop of `python3 tools/dev.py test --changed`.

From the files changed since a base (committed, staged, unstaged and new files), work out which plugins, roles and
event sources are touched, directly or through the shared code they import (module_utils, plugin_utils, doc
fragments, action plugins), and pick the checks that cover them:

- every unit test (they take seconds), and the emulator's own tests when the emulator changed;
- the integration test files that name a touched plugin, or run a playbook of tests/integration/playbooks that uses
  one, and any test file that changed itself;
- the ansible-test integration targets whose tasks use a touched plugin;
- ansible-test sanity of the changed files that sanity looks at;
- whether the docsite, the changelog lint or the galaxy import are concerned.

The full test command stays the gate before a change is pushed; this is what tells a contributor in minutes whether
the change is on track.
"""

import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTION = "mendix.private_cloud"
# In YAML (roles, playbooks, targets): the tasks' and lookups' plugin names. In Python: imports of the shared code and
# doc fragments; a name in a docstring or a seealso is no dependency.
YAML_REFERENCE = re.compile(r"mendix\.private_cloud\.(\w+)")
PY_REFERENCE = re.compile(r"^\s*(?:from|import)\s+\S*(?:module_utils|plugin_utils)\.(_\w+)|^\s*-\s+mendix\.private_cloud\.(\w+)\s*$",
                          re.M)
# a change in one of these changes how every integration test runs
HARNESS = ("tests/integration/harness.py", "tests/integration/conftest.py", "tests/integration/callback_plugins/",
           "tests/pytest.ini", "requirements.txt", "tests/requirements.txt", "meta/runtime.yml")
PLAYBOOK_CALL = re.compile(r"(?:run_playbook|start_playbook)\(\s*\w+,\s*\"(\w+)\"")
SANITY_PREFIXES = ("plugins/", "roles/", "extensions/", "tests/", "meta/", "docs/", "changelogs/", "tools/")


def _git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split("\0")


def changed_files(base):
    """Files that differ from `base`: its merge base with HEAD, the index, the work tree and untracked files."""
    try:
        merge_base = subprocess.run(["git", "merge-base", base, "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                    check=True).stdout.strip()
    except subprocess.CalledProcessError as exc:
        raise SystemExit(f"--changed: git does not know the base {base!r} (give another with --base)") from exc
    files = set(_git("diff", "--name-only", "-z", merge_base))
    files |= set(_git("ls-files", "-z", "--others", "--exclude-standard"))
    return sorted(f for f in files if f)


def unit_of(path):
    """The name a project file is known by in references, or None."""
    parts = path.split("/")
    stem = os.path.splitext(parts[-1])[0]
    if path.startswith(("plugins/module_utils/", "plugins/plugin_utils/")) and path.endswith(".py"):
        return stem
    if path.startswith(("plugins/modules/", "plugins/action/", "plugins/lookup/", "plugins/doc_fragments/",
                        "plugins/inventory/", "extensions/eda/plugins/event_source/")) and path.endswith(".py"):
        return stem
    if path.startswith("roles/") and len(parts) > 2:
        return parts[1]
    return None


def references(text, path):
    if path.endswith(".py"):
        return {a or b for a, b in PY_REFERENCE.findall(text)}
    return set(YAML_REFERENCE.findall(text))


def _read(path):
    try:
        with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return ""


def _project_files(*tops):
    found = []
    for top in tops:
        for folder, _dirs, names in os.walk(os.path.join(ROOT, top)):
            found += [os.path.relpath(os.path.join(folder, n), ROOT) for n in names if n.endswith((".py", ".yml", ".yaml"))]
    return found


def touched_units(files):
    """The units the changed files are, and every unit that uses one of them, to the end of the chain."""
    units = {u for u in map(unit_of, files) if u}
    users = {}
    for path in _project_files("plugins", "roles", "extensions"):
        unit = unit_of(path)
        if unit:
            for ref in references(_read(path), path):
                users.setdefault(ref, set()).add(unit)
    todo = list(units)
    while todo:
        for user in users.get(todo.pop(), ()):
            if user not in units:
                units.add(user)
                todo.append(user)
    return units


def select(files):
    """The checks that cover `files`: a dict of lists and flags."""
    units = touched_units(files)
    playbook_dir = os.path.join(ROOT, "tests", "integration", "playbooks")
    playbooks = {os.path.splitext(n)[0]: references(_read(os.path.join("tests", "integration", "playbooks", n)), n)
                 for n in os.listdir(playbook_dir) if n.endswith(".yml")}
    changed_playbooks = {os.path.splitext(os.path.basename(f))[0] for f in files
                         if f.startswith("tests/integration/playbooks/")}
    everything = any(f.startswith(HARNESS) for f in files)
    emulator = any(f.startswith("tests/emulator/") for f in files)

    inventory_units = {unit_of(f) for f in _project_files("plugins/inventory")}
    integration = []
    for name in sorted(os.listdir(os.path.join(ROOT, "tests", "integration"))):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        path = f"tests/integration/{name}"
        text = _read(path)
        named = set(PLAYBOOK_CALL.findall(text)) & set(playbooks)
        # an inventory plugin's name is a common word ("environments"): only its full name counts as a reference
        refs = (set(re.findall(r"\b\w+\b", text)) & (units - inventory_units)) | (set(YAML_REFERENCE.findall(text)) & units)
        for playbook in named:
            refs |= playbooks[playbook] & units
        if everything or path in files or refs or named & changed_playbooks:
            integration.append(path)

    targets = []
    for target in sorted(os.listdir(os.path.join(ROOT, "tests", "integration", "targets"))):
        folder = f"tests/integration/targets/{target}"
        refs = set()
        for path in _project_files(folder):
            refs |= references(_read(path), path)
        if everything or refs & units or any(f.startswith(folder + "/") for f in files):
            targets.append(target)

    unit_tests = ["tests/unit"] + (["tests/emulator/tests"] if emulator else [])
    sanity = [f for f in files if f.startswith(SANITY_PREFIXES) and os.path.isfile(os.path.join(ROOT, f))]
    return {
        "files": files,
        "units": sorted(units),
        "pytest": unit_tests + integration,
        "targets": targets,
        "sanity": sanity,
        "docs": any(f.startswith(("docs/", "plugins/", "extensions/", "roles/")) or f in ("galaxy.yml", "README.md")
                    for f in files),
        "changelog": any(f.startswith("changelogs/") for f in files),
        "galaxy": any(f in ("galaxy.yml", "meta/runtime.yml", "README.md") or f.startswith("meta/") for f in files),
    }

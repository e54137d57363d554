"""Development entry point: `python3 tools/dev.py demo` and `python3 tools/dev.py test`.

Both set everything up first: a virtual environment in .venv with the pinned tools, the emulator
installed into it, and the collection made visible to Ansible as mendix.private_cloud. Only Python 3
and access to the package registries are needed.
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv")
BIN = os.path.join(VENV, "bin")
PY = os.path.join(BIN, "python")
COLLECTIONS = os.path.join(VENV, "collections")
COLLECTION_LINK = os.path.join(COLLECTIONS, "ansible_collections", "mendix", "private_cloud")
REQUIREMENTS = [os.path.join(ROOT, "requirements.txt"), os.path.join(ROOT, "tests", "requirements.txt"),
                os.path.join(ROOT, "tests", "emulator", "pyproject.toml")]
SHARED_GET_PIP = os.path.join(ROOT, "..", "shared", "ci", "get_pip_offline.py")
# Built virtual environments are kept outside the checkout, by the hash of what they were built from, so that a clean
# clone on the same machine copies them instead of installing again; MXPC_DEV_CACHE moves the cache, and deleting it
# only costs the next set-up its installs.
CACHE = os.environ.get("MXPC_DEV_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "mendix-private-cloud", "venvs")
CACHE_KEEP = 3  # environments kept per name (.venv, .venv-core-2.16, ...): the newest by use
DEMO_TOKEN = "mxpc-demo-admin-0f3c9a7e51d24b6f"


def step(message):
    print(f"\n==> {message}", flush=True)


def run(cmd, env=None, cwd=ROOT, check=True):
    print("+ " + " ".join(cmd), flush=True)
    result = subprocess.run(cmd, env=env, cwd=cwd, check=False)
    if check and result.returncode != 0:
        raise SystemExit(f"command failed with exit code {result.returncode}: {' '.join(cmd)}")
    return result.returncode


def core_pin():
    """The ansible-core pin of tests/requirements.txt (one line, ansible-core==X)."""
    with open(REQUIREMENTS[1], encoding="utf-8") as handle:
        for line in handle:
            if line.strip().startswith("ansible-core"):
                return line.strip()
    raise SystemExit("tests/requirements.txt pins no ansible-core")


def _stamp(*parts):
    digest = hashlib.sha256()
    for part in parts:
        if os.path.exists(part):
            with open(part, "rb") as handle:
                digest.update(handle.read())
        else:
            digest.update(part.encode())
    return digest.hexdigest()


def setup(full=True):
    """Create or refresh .venv when the requirement files changed; link the collection.

    The demo needs only what the modules and the emulator need (ansible-core, requests, the emulator); the tests
    need every tool of tests/requirements.txt as well, which the full set-up adds to the same .venv."""
    full_stamp = _stamp(*REQUIREMENTS)
    lean_stamp = _stamp(REQUIREMENTS[0], REQUIREMENTS[2], core_pin())
    full_path = os.path.join(VENV, ".requirements.sha256")
    lean_path = os.path.join(VENV, ".requirements-demo.sha256")

    def build_full():
        if not os.path.exists(PY):
            run([sys.executable, "-m", "venv", VENV])
        step("setting up .venv (the test tools, ansible-core, requests and the emulator)")
        run([PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS[0], "-r",
             REQUIREMENTS[1], "-e", os.path.join(ROOT, "tests", "emulator")])

    def build_lean():
        if not os.path.exists(PY):
            run([sys.executable, "-m", "venv", VENV])
        step("setting up .venv for the demo (ansible-core, requests and the emulator only)")
        run([PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS[0], core_pin(),
             "-e", os.path.join(ROOT, "tests", "emulator")])

    if _read_stamp(full_path) != full_stamp:
        if full:
            cached_venv(VENV, full_stamp, full_path, build_full)
        elif _read_stamp(lean_path) != lean_stamp:
            cached_venv(VENV, lean_stamp, lean_path, build_lean)
    os.makedirs(os.path.dirname(COLLECTION_LINK), exist_ok=True)
    if os.path.lexists(COLLECTION_LINK) and os.path.realpath(COLLECTION_LINK) != os.path.realpath(ROOT):
        os.remove(COLLECTION_LINK)
    if not os.path.lexists(COLLECTION_LINK):
        os.symlink(ROOT, COLLECTION_LINK)
    if full:
        java()


def _read_stamp(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


def cached_venv(venv, stamp, stamp_path, build):
    """Make `venv` the environment of `stamp`: left as it is when its stamp file says so; else a copy of the one built
    for the same stamp and Python before (by this checkout or another), with the absolute paths in its scripts and
    files moved to this checkout; else built by `build()` here and then kept in the cache for the next clone."""
    if _read_stamp(stamp_path) == stamp:
        return
    name = os.path.basename(venv)
    key = hashlib.sha256("\0".join((stamp, sys.version, os.path.realpath(sys.executable))).encode()).hexdigest()[:20]
    kept = os.path.join(CACHE, f"{name}-{key}")
    if os.path.exists(os.path.join(kept, ".origin.json")):
        step(f"{name} copied from the cache of built environments ({kept})")
        _restore_venv(kept, venv)
    else:
        build()
        with open(stamp_path, "w", encoding="utf-8") as handle:
            handle.write(stamp + "\n")
        _keep_venv(venv, kept)
    if _read_stamp(stamp_path) != stamp:
        raise SystemExit(f"{name} does not have the requirements it was set up with: delete it and {CACHE}, run again")


def _keep_venv(venv, kept):
    """Copy a freshly built `venv` into the cache, with the list of the files that name this checkout's path."""
    marker = ROOT.encode()
    files = []
    for folder, dirs, names in os.walk(venv):
        if folder == venv and "collections" in dirs:
            dirs.remove("collections")  # the collection's link is the checkout's own
        for file_name in names:
            path = os.path.join(folder, file_name)
            if file_name.endswith(".pyc") or os.path.islink(path):
                continue
            with open(path, "rb") as handle:
                if marker in handle.read():
                    files.append(os.path.relpath(path, venv))
    os.makedirs(CACHE, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=os.path.basename(kept) + ".", dir=CACHE)
    try:
        shutil.copytree(venv, os.path.join(staging, "venv"), symlinks=True,
                        ignore=lambda folder, names: ["collections"] if folder == venv else [])
        with open(os.path.join(staging, "venv", ".origin.json"), "w", encoding="utf-8") as handle:
            json.dump({"root": ROOT, "files": files}, handle)
        try:
            os.rename(os.path.join(staging, "venv"), kept)
        except OSError:
            pass  # another checkout kept the same environment first
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    name = os.path.basename(venv) + "-"
    same = sorted((e for e in os.listdir(CACHE) if e.startswith(name) and len(e) == len(name) + 20),
                  key=lambda e: os.path.getmtime(os.path.join(CACHE, e)), reverse=True)
    for old in same[CACHE_KEEP:]:
        shutil.rmtree(os.path.join(CACHE, old), ignore_errors=True)


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _restore_venv(kept, venv):
    """Replace `venv` by a copy of the cached one, its files that named the building checkout naming this one."""
    with open(os.path.join(kept, ".origin.json"), encoding="utf-8") as handle:
        origin = json.load(handle)
    os.utime(kept)  # the newest by use stays in the cache
    staging = venv + ".copying"
    shutil.rmtree(staging, ignore_errors=True)
    # Hard links where the cache and the checkout share a file system: nothing writes into an installed file in place
    # (pip and Python's byte-code cache replace files), and the files rewritten below are unlinked first.
    shutil.copytree(kept, staging, symlinks=True, copy_function=_link_or_copy,
                    ignore=lambda folder, names: [".origin.json"] if folder == kept else [])
    old, new = origin["root"].encode(), ROOT.encode()
    for rel in origin["files"]:
        path = os.path.join(staging, rel)
        with open(path, "rb") as handle:
            data = handle.read()
        mode = os.stat(path).st_mode
        os.remove(path)
        with open(path, "wb") as handle:
            os.chmod(path, mode)
            handle.write(data.replace(old + b"/", new + b"/").replace(old + b"\n", new + b"\n"))
    if os.path.islink(venv) or os.path.isfile(venv):
        os.remove(venv)
    else:
        shutil.rmtree(venv, ignore_errors=True)
    os.rename(staging, venv)


def java():
    """ansible-rulebook (the EDA source's tests) runs its rules engine on Java 17 or newer."""
    if shutil.which("java"):
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        step("installing Java for ansible-rulebook (Debian's openjdk-17-jre-headless)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if run(["apt-get", "install", "-y", "-q", "openjdk-17-jre-headless"], env=env, check=False) != 0:
            run(["apt-get", "update", "-q"], env=env)
            run(["apt-get", "install", "-y", "-q", "openjdk-17-jre-headless"], env=env)
        return
    raise SystemExit("Java 17 or newer is needed by ansible-rulebook (the EDA source's tests): install a JRE, for "
                     "example Debian's openjdk-17-jre-headless, and run again")


ZIPIMPORT_CACHE_SITE = os.path.join(ROOT, "tools", "zipimport_cache")
# The commands whose module runs share compiled payloads (the benchmarks and the demo measure and show what a user's
# runs cost, so they do without).
BYTECODE_CACHE_COMMANDS = {"test", "pytest", "units", "matrix-integration", "oldest", "integration", "matrix"}


def zipimport_cache_dir(env):
    """The directory of the modules' bytecode cache in `env`, or None (unset, or MXPC_ZIPIMPORT_CACHE=off)."""
    value = env.get("MXPC_ZIPIMPORT_CACHE", "")
    return None if value.lower() in ("", "0", "off", "no", "false") else value


def tool_env(**extra):
    env = dict(os.environ)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = VENV
    env["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS
    env["PYTHONPATH"] = COLLECTIONS
    env["ANSIBLE_PYTHON_INTERPRETER"] = PY
    env["ANSIBLE_LOCALHOST_WARNING"] = "false"
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "false"
    env["ANSIBLE_NOCOLOR"] = "1"
    env.pop("PYTHONHOME", None)
    env.update(extra)
    if zipimport_cache_dir(env) and "PYTHONPATH" not in extra:  # tools/zipimport_cache/sitecustomize.py
        env["PYTHONPATH"] = ZIPIMPORT_CACHE_SITE + os.pathsep + env["PYTHONPATH"]
    return env


def start_emulator(data_dir, *args):
    proc = subprocess.Popen([PY, "-m", "mxpc_emulator", "--port", "0", "--data-dir", data_dir, *args],
                            stdout=subprocess.PIPE, text=True, env=tool_env())
    line = proc.stdout.readline().strip()
    match = re.match(r"^mxpc-emulator listening on (\S+)$", line)
    if not match:
        proc.kill()
        raise SystemExit(f"the emulator did not start: {line!r}")
    print(line, flush=True)
    return proc, match.group(1)


def stop_emulator(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def demo(_args):
    setup(full=False)
    step("demo: build -> wait -> hand-off against a local emulator")
    with tempfile.TemporaryDirectory(prefix="mxpc-demo-") as data_dir:
        proc, url = start_emulator(data_dir, "--build-seconds", "3")
        try:
            env = tool_env(MENDIX_PRIVATE_CLOUD_URL=url, MENDIX_REPOSITORY_URL=url.rsplit("/api/v4", 1)[0] + "/v1",
                           MENDIX_PAT=DEMO_TOKEN)
            run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", os.path.join(ROOT, "tests", "demo", "demo.yml")],
                env=env)
        finally:
            stop_emulator(proc)
    print("\ndemo: OK", flush=True)


def sanity_tree():
    """A copy of the collection's files under ansible_collections/mendix/private_cloud, as ansible-test wants."""
    base = tempfile.mkdtemp(prefix="mxpc-sanity-")
    dest = os.path.join(base, "ansible_collections", "mendix", "private_cloud")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src):
            continue
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(src, target)
    return base, dest


def sanity_home(venv=VENV):
    """The home directory ansible-test sanity runs with: the user's for .venv's release, one of its own under the cache
    for each older release. ansible-test builds its sanity virtual environments under ~/.ansible/test without a lock,
    so two releases' runs side by side must not share that folder."""
    if venv == VENV:
        return os.path.expanduser("~")
    return os.path.join(os.path.dirname(CACHE), "ansible-test-home", os.path.basename(venv).lstrip("."))


def offline_get_pip(venv=VENV):
    """ansible-test fetches a pip bootstrap script named after the pip version it asks for; where that host is out of
    reach, put the stand-in beside the project in its cache under that name."""
    source = os.path.join(venv, "lib", "python%d.%d" % sys.version_info[:2], "site-packages", "ansible_test", "_internal",
                          "python_requirements.py")
    versions = {"24.2"}
    if os.path.exists(source):
        with open(source, encoding="utf-8") as handle:
            versions |= set(re.findall(r"\bpip='([0-9.]+)'", handle.read()))
    for version in versions:
        cache = os.path.join(sanity_home(venv), ".ansible", "test", "cache", "get_pip_%s.py" % version.replace(".", "_"))
        if os.path.exists(SHARED_GET_PIP) and not os.path.exists(cache):
            os.makedirs(os.path.dirname(cache), exist_ok=True)
            shutil.copy(SHARED_GET_PIP, cache)


def sanity(_args=None, venv=VENV, paths=()):
    """ansible-test sanity of the whole collection, or of `paths` only (the inner loop)."""
    if venv == VENV:
        setup()
    offline_get_pip(venv)
    bin_dir = os.path.join(venv, "bin")
    step(f"ansible-test sanity with {core_version(venv)} (from a copy under ansible_collections/mendix/private_cloud)")
    base, dest = sanity_tree()
    try:
        env = tool_env(PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), VIRTUAL_ENV=venv)
        if venv != VENV:  # an older release's home of its own; pip's download cache stays the user's
            home = sanity_home(venv)
            os.makedirs(home, exist_ok=True)
            env.setdefault("PIP_CACHE_DIR", os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                         os.path.join(os.path.expanduser("~"), ".cache"), "pip"))
            env["HOME"] = home
        env.pop("PYTHONPATH")
        env.pop("ANSIBLE_COLLECTIONS_PATH")
        run([os.path.join(bin_dir, "ansible-test"), "sanity", "--python", "3.11", "--color", "no", "--requirements",
             *paths], env=env, cwd=dest)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def integration(_args=None, venv=VENV, targets=()):
    """ansible-test integration: the targets of tests/integration/targets against an emulator started here, from a
    copy under ansible_collections/mendix/private_cloud; the emulator's URLs and the demo seed's ids reach the targets
    through tests/integration/integration_config.yml, which ansible-test passes as extra vars."""
    if venv == VENV:
        setup()
    bin_dir = os.path.join(venv, "bin")
    step(f"ansible-test integration with {core_version(venv)} (targets in tests/integration/targets)")
    base, dest = sanity_tree()
    with tempfile.TemporaryDirectory(prefix="mxpc-integration-") as data_dir:
        proc, url = start_emulator(data_dir, "--build-seconds", "0.5", "--upload-seconds", "0.2", "--delete-seconds", "0.2",
                                   "--deploy-seconds", "0.3", "--start-seconds", "0.3")
        try:
            config = {"mendix_private_cloud_url": url, "mendix_repository_url": url.rsplit("/api/v4", 1)[0] + "/v1",
                      "mendix_pat": DEMO_TOKEN, "mendix_app_id": "c533ee0b-f7db-4e62-868b-1192d392ccec",
                      "mendix_svn_app_id": "7b3f1c2e-5d4a-4e8b-9c6f-0a1b2c3d4e5f",
                      "mendix_namespace_id": "d43aee0b-f7db-4e62-868b-1192d392cfed",
                      "mendix_cluster_id": "a712d8f4-a77c-4189-a211-e0ea1dfde03c"}
            with open(os.path.join(dest, "tests", "integration", "integration_config.yml"), "w", encoding="utf-8") as handle:
                handle.write("---\n" + "".join(f"{key}: {value}\n" for key, value in config.items()))
            env = tool_env(PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), VIRTUAL_ENV=venv)
            env.pop("PYTHONPATH")
            env.pop("ANSIBLE_COLLECTIONS_PATH")
            env.pop("ANSIBLE_PYTHON_INTERPRETER")
            run([os.path.join(bin_dir, "ansible-test"), "integration", "--python", "3.11", "--color", "no", *targets], env=env,
                cwd=dest)
        finally:
            stop_emulator(proc)
            shutil.rmtree(base, ignore_errors=True)


def core_version(venv):
    found = subprocess.run([os.path.join(venv, "bin", "python"), "-c", "import ansible; print(ansible.__version__)"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return f"ansible-core {found or '?'}"


# The ansible-core releases meta/runtime.yml claims; the newest is the one of tests/requirements.txt (.venv). Each older
# one gets its own virtual environment with the modules' requirements and pytest.
MATRIX = ["2.16", "2.17", "2.18"]
# What runs on the oldest ansible-core besides sanity and the unit tests: every module's and the lookup's examples
# (twice), the environment and deployment modules and the role, and the AWX job templates through ansible-runner.
MATRIX_INTEGRATION = ["tests/integration/test_examples.py", "tests/integration/test_environment.py",
                      "tests/integration/test_deployment.py", "tests/integration/test_awx_nightly.py",
                      "tests/integration/test_inventory.py"]


def core_venv(version):
    """.venv-core-<version>: that ansible-core, the modules' requirements, pytest."""
    venv = os.path.join(ROOT, f".venv-core-{version}")
    python = os.path.join(venv, "bin", "python")
    wanted = [f"ansible-core=={version}.*", "-r", REQUIREMENTS[0], "pytest", "pytest-xdist", "pytest-timeout"]
    stamp = _stamp(REQUIREMENTS[0], " ".join(wanted).replace(ROOT, "."))  # the same in every checkout

    def build():
        step(f"setting up {os.path.basename(venv)}")
        if not os.path.exists(python):
            run([sys.executable, "-m", "venv", venv])
        run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *wanted])

    cached_venv(venv, stamp, os.path.join(venv, ".requirements.sha256"), build)
    return venv


def oldest_version(versions=None):
    return min(versions or MATRIX, key=lambda v: tuple(int(x) for x in v.split(".")))


def matrix_units(version):
    setup()
    venv = core_venv(version)
    step(f"unit tests with {core_version(venv)}")
    run([os.path.join(venv, "bin", "python"), "-m", "pytest", "-c", os.path.join(ROOT, "tests", "pytest.ini"), "--rootdir",
         ROOT, "-q", "-n", "1", "tests/unit"], env=tool_env())


def matrix_integration(version, part="all"):
    """The ansible-test targets and the integration tests of MATRIX_INTEGRATION with that ansible-core (`part`:
    targets or tests alone, so that the test command's lanes can run the two side by side)."""
    setup()
    venv = core_venv(version)
    if part in ("all", "targets"):
        integration(venv=venv)
    if part == "targets":
        return
    step(f"integration tests with {core_version(venv)}: {' '.join(MATRIX_INTEGRATION)}")
    bin_dir = os.path.join(venv, "bin")
    env = tool_env(PATH=bin_dir + os.pathsep + BIN + os.pathsep + os.environ.get("PATH", ""),
                   ANSIBLE_PYTHON_INTERPRETER=os.path.join(bin_dir, "python"))
    run([PY, "-m", "pytest", "-c", os.path.join(ROOT, "tests", "pytest.ini"), "--rootdir", ROOT, "-q", "-n", "2",
         *MATRIX_INTEGRATION], env=env)


def matrix(args=None):
    """Every ansible-core the collection claims: sanity and the unit tests on each older one (the newest runs them in
    the rest of the test command), and the integration tests of MATRIX_INTEGRATION on the oldest."""
    setup()
    versions = (getattr(args, "versions", None) or ",".join(MATRIX)).split(",")
    for version in versions:
        matrix_units(version)
        sanity(venv=core_venv(version))
    matrix_integration(oldest_version(versions))


def lint(_args=None):
    setup()
    step("ansible-lint --profile production")
    run([os.path.join(BIN, "ansible-lint"), "--profile", "production", "--offline"], env=tool_env())


def pytest(args):
    setup()
    step("pytest: unit, emulator and integration tests")
    cmd = [PY, "-m", "pytest", "-c", os.path.join(ROOT, "tests", "pytest.ini"), "--rootdir", ROOT]
    default = [d for d in ("tests/unit", "tests/emulator/tests", "tests/integration") if os.path.isdir(os.path.join(ROOT, d))]
    # The whole suite says which tests take the time, and runs on three workers: on two cores, two leave a fifth of
    # the CPU idle while the tests wait on the emulator's jobs and timeouts.
    cmd += args.pytest_args or ["--durations=25", "-n", "3"] + default
    run(cmd, env=tool_env())


OLDEST_VENV = os.path.join(ROOT, ".venv-oldest")
OLDEST_REQUIREMENTS = os.path.join(ROOT, "tests", "requirements-oldest.txt")
# Integration tests that exercise the HTTP client hardest: retries, lost answers, deadlines, streamed downloads.
OLDEST_INTEGRATION = ["tests/integration/test_faults.py", "tests/integration/test_download.py", "tests/integration/test_bounds.py"]


def oldest_venv():
    """.venv-oldest: the oldest requests and urllib3 of tests/requirements-oldest.txt."""
    stamp = _stamp(OLDEST_REQUIREMENTS)
    python = os.path.join(OLDEST_VENV, "bin", "python")

    def build():
        if not os.path.exists(python):
            run([sys.executable, "-m", "venv", OLDEST_VENV])
        run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", OLDEST_REQUIREMENTS])

    cached_venv(OLDEST_VENV, stamp, os.path.join(OLDEST_VENV, ".requirements.sha256"), build)
    return python


def oldest(_args=None):
    """The oldest requests and urllib3 the collection claims: the unit tests on them, then integration tests whose
    modules run with that environment's Python."""
    setup()
    step("oldest requests and urllib3 (tests/requirements-oldest.txt)")
    python = oldest_venv()
    pins = dict(line.split("==") for line in open(OLDEST_REQUIREMENTS, encoding="utf-8").read().split()
                if "==" in line and not line.startswith("#"))
    found = subprocess.run([python, "-c", "import requests, urllib3; print(requests.__version__, urllib3.__version__)"],
                           capture_output=True, text=True, check=True).stdout.split()
    if found != [pins["requests"], pins["urllib3"]]:
        raise SystemExit(f"{OLDEST_VENV} has requests {found[0]} and urllib3 {found[1]}, not the pinned oldest")
    print(f"requests {found[0]}, urllib3 {found[1]}", flush=True)
    ini = ["-c", os.path.join(ROOT, "tests", "pytest.ini"), "--rootdir", ROOT]
    run([python, "-m", "pytest", *ini, "tests/unit"], env=tool_env())
    run([PY, "-m", "pytest", *ini, *OLDEST_INTEGRATION], env=tool_env(ANSIBLE_PYTHON_INTERPRETER=python))


def changelog(_args=None):
    setup()
    step("antsibull-changelog lint")
    run([os.path.join(BIN, "antsibull-changelog"), "lint"], env=tool_env())


def build_tarball(dest_dir):
    """ansible-galaxy collection build from a clean copy of the tracked files; returns the tarball's path."""
    base, tree = sanity_tree()
    try:
        run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path", dest_dir, tree], env=tool_env())
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return [os.path.join(dest_dir, n) for n in os.listdir(dest_dir) if n.endswith(".tar.gz")][0]


def galaxy(_args=None):
    """Build the tarball and import it with galaxy-importer: no errors and no warnings."""
    setup()
    step("ansible-galaxy collection build + galaxy-importer")
    with tempfile.TemporaryDirectory(prefix="mxpc-galaxy-") as out:
        tarball = build_tarball(out)
        proc = subprocess.run([PY, "-m", "galaxy_importer.main", tarball], cwd=out, env=tool_env(), capture_output=True,
                              text=True, check=False)
        print(proc.stdout + proc.stderr, flush=True)
        bad = [line for line in (proc.stdout + proc.stderr).splitlines() if re.match(r"^(WARNING|ERROR)\b", line)]
        if proc.returncode != 0 or bad or "Importer processing completed successfully" not in proc.stdout + proc.stderr:
            raise SystemExit("galaxy-importer: the import is not clean")


# Offline, the intersphinx inventories of docs.ansible.com and docs.python.org cannot be fetched, so references into
# them stay unresolved (labels, and ansible-core's configuration variables that the inventory cache options name).
# Those warnings are let through; every other warning fails the build.
EXTERNAL_LABELS = re.compile(r"undefined label: '(ansible_configuration_settings|common_return_values|action_plugins|"
                             r"ansible_collections\.ansible\.builtin\.[a-z_]+)'"
                             r"|'envvar' reference target not found: ANSIBLE_[A-Z_]+ ")


# the docs lint's arguments (tests/integration/test_docs_lint.py runs the linter with them)
DOCS_LINT_ARGS = ["lint-collection-docs", "--plugin-docs", "--skip-rstcheck", "."]


def docs(_args=None):
    """Build the HTML docsite with antsibull-docs and Sphinx into docs/build/html; fail on warnings."""
    setup()
    step("antsibull-docs lint-collection-docs, then the docsite (antsibull-docs + Sphinx)")
    env = tool_env()
    # --skip-rstcheck: the linter renders each plugin's page from a copy of the collection in a temporary folder and
    # points the page's github_url into that copy (edit/main/../../tmp/antsibull-docs-XXXXXXXX/...); when the folder's
    # random name ends with "_" (about one run in 37), reStructuredText reads it as a link to a target and every page
    # fails with "Unknown target name". The Sphinx build below renders the same pages from the installed collection
    # and fails on any warning, so no page goes unchecked; the linter still checks the schema and the markup.
    run([os.path.join(BIN, "antsibull-docs"), *DOCS_LINT_ARGS], env=env)
    out = os.path.join(ROOT, "docs", "build")
    with tempfile.TemporaryDirectory(prefix="mxpc-docsite-") as site:
        run([os.path.join(BIN, "antsibull-docs"), "sphinx-init", "--use-current", "--dest-dir", site, "--fail-on-error",
             "mendix.private_cloud"], env=env)
        rst = os.path.join(site, "rst")
        os.makedirs(rst, exist_ok=True)
        os.chmod(rst, 0o755)
        run([os.path.join(BIN, "antsibull-docs"), "--config-file", os.path.join(site, "antsibull-docs.cfg"), "collection",
             "--cleanup", "everything", "--fail-on-error", "--use-current", "--dest-dir", rst, "mendix.private_cloud"],
            env=env, cwd=site)
        # the front page says what the collection does and leads to the guides (the generator's is a placeholder)
        shutil.copy(os.path.join(ROOT, "docs", "index.rst"), os.path.join(rst, "index.rst"))
        warnings_file = os.path.join(site, "warnings.log")
        run([os.path.join(BIN, "sphinx-build"), "-q", "-b", "html", "-c", site, "-w", warnings_file, rst,
             os.path.join(out, "html")], env=env, cwd=site)
        with open(warnings_file, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    real = [line for line in lines if re.search(r"\b(WARNING|ERROR|CRITICAL|SEVERE)\b", line)
            and "failed to reach any of the inventories" not in line and not EXTERNAL_LABELS.search(line)]
    if real:
        raise SystemExit("docsite warnings:\n" + "\n".join(real))
    print(f"docsite built: {os.path.join(out, 'html', 'index.html')}", flush=True)


def execution_environment(_args=None):
    """ansible-builder: the collection's Python requirements are found, and a build context is created."""
    setup()
    step("ansible-builder introspect + create")
    env = tool_env()
    with tempfile.TemporaryDirectory(prefix="mxpc-ee-") as work:
        tarball = build_tarball(work)
        proc = subprocess.run([os.path.join(BIN, "ansible-builder"), "introspect", "--sanitize", COLLECTIONS], env=env,
                              capture_output=True, text=True, check=False)
        print(proc.stdout, flush=True)
        # the modules' and the inventory plugin's requirements, and the event source's for decision environments
        with open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8") as handle:
            modules = [re.split(r"[<>=!~ ]", line.strip())[0] for line in handle if line.strip()[:1].isalpha()]
        missing = [name for name in modules + ["aiohttp"] if re.search(rf"^- '?{name}\b", proc.stdout, re.M) is None]
        if proc.returncode != 0 or missing:
            raise SystemExit(f"ansible-builder introspect did not find the collection's Python requirements {missing}")
        definition = os.path.join(work, "execution-environment.yml")
        with open(definition, "w", encoding="utf-8") as handle:
            handle.write("---\nversion: 3\nimages:\n  base_image:\n    name: ghcr.io/ansible-community/community-ee-base:latest\n"
                         "dependencies:\n  ansible_core:\n    package_pip: ansible-core>=2.16\n  ansible_runner:\n"
                         "    package_pip: ansible-runner\n  galaxy:\n    collections:\n"
                         f"      - name: {tarball}\n        type: file\n")
        context = os.path.join(work, "context")
        run([os.path.join(BIN, "ansible-builder"), "create", "-f", definition, "-c", context, "--output-filename", "Containerfile"],
            env=env, cwd=work)
        for name in ("Containerfile", os.path.join("_build", "requirements.yml")):
            if not os.path.exists(os.path.join(context, name)):
                raise SystemExit(f"ansible-builder create made no {name}")
    print("execution environment build context: OK (building the image needs a container engine)", flush=True)


def bench(args):
    """The benchmark suite against the emulator (tests/benchmarks/bench.py); --quick for small sizes."""
    setup()
    step("benchmarks" + (" (quick mode)" if args.quick else ""))
    cmd = [PY, os.path.join(ROOT, "tests", "benchmarks", "bench.py")]
    if args.quick:
        cmd.append("--quick")
    if args.only:
        cmd += ["--only", args.only]
    run(cmd, env=tool_env())


def setup_all():
    """Every virtual environment the test command uses: .venv first, then the older ansible-core releases' and the
    oldest libraries' side by side (each is built only when its requirement files changed)."""
    setup()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(MATRIX) + 1) as pool:
        for done in [pool.submit(core_venv, v) for v in MATRIX] + [pool.submit(oldest_venv)]:
            done.result()  # the first failure ends the set-up with its message


# How the test command spends two cores. The checks that are not timed run in three lanes at a low CPU priority
# beside the pytest suites, in the time the tests wait on the emulator: sanity on the four ansible-core releases, two
# releases a lane (each older release's sanity runs in a home of its own, see sanity_home, so that two runs never
# build the same virtual environment at once), and lint, the changelog, the galaxy import, the docsite and the EE
# check. Sanity waits much of its time on pip and runs one process at a time, so two of them side by side keep the
# second core busy once the pytest suites end. Each step is `python3 tools/dev.py <step>`, its output kept and printed
# whole when it ends (after the pytest suites' own output), so the log reads step by step.
QUIET_LANES = [
    [("sanity", ["sanity"]), (f"sanity {MATRIX[1]}", ["sanity", "--core", MATRIX[1]])],
    [(f"sanity {MATRIX[0]}", ["sanity", "--core", MATRIX[0]]), (f"sanity {MATRIX[2]}", ["sanity", "--core", MATRIX[2]])],
    [("lint", ["lint"]), ("changelog", ["changelog"]), ("galaxy", ["galaxy"]), ("docs", ["docs"]),
     ("execution environment", ["ee"])],
]
# The checks that run playbooks against an emulator, in groups taken longest first by whichever lane is free: a quiet
# lane once its own steps are done (while the pytest suites still run, so at a mild priority), and one more lane once
# the pytest suites end.
AFTER_PYTEST = [
    [(f"integration {oldest_version()}", ["matrix-integration", "--core", oldest_version(), "--part", "tests"])],
    [("oldest libraries", ["oldest"]), (f"unit tests {MATRIX[2]}", ["units", "--core", MATRIX[2]])],
    # the quick benchmarks show that every figure can be taken; their numbers are not judged
    [("benchmarks (quick)", ["bench", "--quick"])],
    [("ansible-test integration", ["integration"]), (f"unit tests {MATRIX[1]}", ["units", "--core", MATRIX[1]])],
    # the older release's targets apart from its integration tests: together they were the run's last, lone step
    [(f"ansible-test integration {oldest_version()}", ["matrix-integration", "--core", oldest_version(), "--part", "targets"]),
     (f"unit tests {MATRIX[0]}", ["units", "--core", MATRIX[0]])],
]
BESIDE_PYTEST_PRIORITY = 5
LOW_PRIORITY = 15


class Lanes:
    """Lanes of steps run side by side, each step `python3 tools/dev.py <argv>` with its output printed whole when it
    ends; `hold` keeps that printing back while a step prints live."""

    def __init__(self, timings):
        self.timings = timings
        self.failed = []
        self.lock = threading.Lock()
        self.threads = []
        self.held = False
        self.pending = []

    def hold(self):
        with self.lock:
            self.held = True

    def release(self):
        with self.lock:
            self.held = False
            for text in self.pending:
                print(text, end="", flush=True)
            self.pending = []

    def start(self, lane, niceness=0, then=None, then_niceness=0):
        """Run the lane's steps, then groups of steps taken from the shared list `then` until it is empty."""
        thread = threading.Thread(target=self._lane, args=(lane, niceness, then, then_niceness))
        thread.start()
        self.threads.append(thread)

    def _lane(self, lane, niceness, then, then_niceness):
        try:
            self._run(lane, niceness)
            while then is not None:
                with self.lock:
                    if not then:
                        return
                    group = then.pop(0)
                self._run(group, then_niceness)
        except BaseException as error:  # a lane that breaks fails the command, it does not vanish
            with self.lock:
                self.failed.append(f"a lane ({type(error).__name__}: {error})")
            raise

    def _run(self, lane, niceness):
        for name, argv in lane:
            began = time.monotonic()
            with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as log:
                prefix = ["nice", "-n", str(niceness)] if niceness and shutil.which("nice") else []
                proc = subprocess.Popen([*prefix, sys.executable, os.path.abspath(__file__), *argv], stdout=log,
                                        stderr=subprocess.STDOUT, cwd=ROOT)
                code, cpu = wait_with_cpu(proc)
                log.seek(0)
                output = log.read()
            seconds = time.monotonic() - began
            text = (f"\n----- {name}: {'ok' if code == 0 else f'FAILED (exit code {code})'} in {seconds:.0f} s "
                    f"(python3 tools/dev.py {' '.join(argv)}) -----\n" + output + ("" if output.endswith("\n") else "\n"))
            with self.lock:  # the next step starts at once; the output waits while a step prints live
                self.timings.append((name, seconds, cpu))
                if code != 0:
                    self.failed.append(name)
                if self.held:
                    self.pending.append(text)
                else:
                    print(text, end="", flush=True)

    def wait(self):
        for thread in self.threads:
            thread.join()
        return self.failed


def run_lanes(lanes, timings):
    """Run each lane's steps one after the other, the lanes side by side; returns the names of the failed steps."""
    runner = Lanes(timings)
    for lane in lanes:
        runner.start(lane)
    return runner.wait()


def wait_with_cpu(proc):
    """Wait for a child; its exit code and the CPU seconds it and the descendants it waited for used."""
    dummy, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class CpuUse:
    """The machine's CPU use (all cores, from /proc/stat) per minute of the run, to show where cores stood idle."""

    def __init__(self):
        self.samples = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _read():
        try:
            with open("/proc/stat", encoding="ascii") as handle:
                fields = [int(value) for value in handle.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    def _sample(self):
        last = self._read()
        while last and not self.stop.wait(60):
            now = self._read()
            total, idle = now[0] - last[0], now[1] - last[1]
            self.samples.append(100 * (total - idle) / total if total else 0.0)
            last = now

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def line(self):
        return " ".join("%.0f" % share for share in self.samples) or "-"


def print_timings(timings, started, cpu_use=None, cpu_before=0.0):
    """Each step's wall time and CPU seconds. A lane step's CPU is what it and the processes it waited for used; the
    pytest step's is the rest of the total, so it also holds what no step waited for (pytest-xdist workers)."""
    print("\nwall time and CPU seconds of each step (steps in lanes overlap; the total is the command's; pytest's CPU is\n"
          "the total less the other steps', so it includes their pytest-xdist workers):", flush=True)
    total_cpu = children_cpu() - cpu_before
    known = sum(entry[2] for entry in timings if entry[2] is not None)
    for name, seconds, cpu in timings:
        if cpu is None and name == "pytest":
            cpu = total_cpu - known
        print("  %-26s %7.0f s %9s" % (name, seconds, "" if cpu is None else "%.0f CPU-s" % cpu), flush=True)
    print("  %-26s %7.0f s %9s" % ("total", time.monotonic() - started, "%.0f CPU-s" % total_cpu), flush=True)
    if cpu_use is not None:
        print(f"CPU use of the machine per minute, % of {os.cpu_count()} cores: {cpu_use.line()}", flush=True)


def test(args):
    """The whole test suite; a table of each step's wall time at the end, and on a failure."""
    if args.changed:
        test_changed(args)
        return
    started = time.monotonic()
    timings = []

    def timed(name, func, *func_args):
        began, cpu = time.monotonic(), children_cpu()
        try:
            func(*func_args)
        finally:  # alone, a step's CPU is the children's; beside the lanes, print_timings works it out
            timings.append((name, time.monotonic() - began, None if lanes.threads else children_cpu() - cpu))

    cpu_before = children_cpu()
    lanes = Lanes(timings)
    cpu_use = CpuUse().__enter__()
    try:
        timed("set-up", setup_all)
        step("sanity, lint, changelog, galaxy, docs and the EE check in three lanes at low priority beside the pytest "
             "suites, then the checks that run playbooks; their output follows the suites'")
        queue = [list(group) for group in AFTER_PYTEST]
        for lane in QUIET_LANES:
            lanes.start(lane, niceness=LOW_PRIORITY, then=queue, then_niceness=BESIDE_PYTEST_PRIORITY)
        lanes.hold()
        try:
            timed("pytest", pytest, args)
        except BaseException:
            with lanes.lock:
                queue.clear()  # what has not started does not start: the failure is reported now
            raise
        finally:
            lanes.release()
        step("the checks that run playbooks against an emulator, in lanes (each step's output when it ends)")
        lanes.start([], then=queue)  # one more: with the three quiet lanes, no more steps at once than the bounds allow
        failed = lanes.wait()
        if failed:
            raise SystemExit(f"failed: {', '.join(failed)}")
    finally:
        lanes.wait()
        cpu_use.__exit__()
        print_timings(timings, started, cpu_use, cpu_before)
    if args.pytest_args:
        print(f"\npassed in {time.monotonic() - started:.0f} s: pytest {' '.join(args.pytest_args)} (a part of the pytest "
              "suites, not all of them) and every other check", flush=True)
    else:
        print(f"\nall checks passed in {time.monotonic() - started:.0f} s", flush=True)


def test_changed(args):
    """The inner loop: the checks that cover what changed since --base (tools/changed.py decides)."""
    import changed  # pylint: disable=import-outside-toplevel

    started = time.monotonic()
    timings = []
    setup()
    chosen = changed.select(changed.changed_files(args.base))
    step(f"changed since {args.base}: {len(chosen['files'])} files")
    for key in ("files", "units", "pytest", "targets", "sanity"):
        print(f"  {key}: {' '.join(chosen[key]) or '-'}", flush=True)
    steps = [("pytest", ["pytest", "--", *chosen["pytest"], *args.pytest_args])]
    if chosen["targets"]:
        steps.append(("ansible-test integration", ["integration", *chosen["targets"]]))
    if chosen["sanity"]:
        steps.append(("sanity", ["sanity", *chosen["sanity"]]))
    steps.append(("lint", ["lint"]))
    steps += [(name, [name]) for name in ("changelog", "docs", "galaxy") if chosen[name]]
    try:
        failed = run_lanes([steps[:1], steps[1:]], timings)  # pytest waits on the emulator beside the rest
        if failed:
            raise SystemExit(f"failed: {', '.join(failed)}")
    finally:
        print_timings(timings, started)
    print(f"\nthe checks that cover the change passed in {time.monotonic() - started:.0f} s; the full test command "
          "(python3 tools/dev.py test) is the one CI runs", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="create or refresh .venv and link the collection").set_defaults(func=lambda _a: setup())
    sub.add_parser("demo", help="set up, start the emulator and run the demo playbook").set_defaults(func=demo)
    p_test = sub.add_parser("test", help="set up and run the whole test suite")
    p_test.add_argument("pytest_args", nargs="*", help="pytest arguments instead of the default test folders")
    p_test.add_argument("--changed", action="store_true",
                        help="only the checks that cover the files changed since --base (the inner loop)")
    p_test.add_argument("--base", default="main", help="the git ref --changed compares with (default: main)")
    p_test.set_defaults(func=test)
    p_py = sub.add_parser("pytest", help="only the pytest suites")
    p_py.add_argument("pytest_args", nargs="*")
    p_py.set_defaults(func=pytest)
    p_sanity = sub.add_parser("sanity", help="only ansible-test sanity (of the paths given, or of everything)")
    p_sanity.add_argument("paths", nargs="*")
    p_sanity.add_argument("--core", help="an older ansible-core release of the matrix (its .venv-core-<version>)")
    p_sanity.set_defaults(func=lambda a: sanity(venv=core_venv(a.core) if a.core else VENV, paths=a.paths))
    p_units = sub.add_parser("units", help="only the unit tests with an older ansible-core of the matrix")
    p_units.add_argument("--core", required=True, choices=MATRIX)
    p_units.set_defaults(func=lambda a: matrix_units(a.core))
    p_mi = sub.add_parser("matrix-integration", help="the targets and the matrix's integration tests with an older ansible-core")
    p_mi.add_argument("--core", required=True, choices=MATRIX)
    p_mi.add_argument("--part", default="all", choices=["all", "targets", "tests"],
                      help="only the ansible-test targets, or only the integration tests (default: both)")
    p_mi.set_defaults(func=lambda a: matrix_integration(a.core, a.part))
    sub.add_parser("oldest", help="only the tests on the oldest requests and urllib3 claimed").set_defaults(func=oldest)
    p_int = sub.add_parser("integration", help="only ansible-test integration (the targets given, or all, against an emulator)")
    p_int.add_argument("targets", nargs="*")
    p_int.set_defaults(func=lambda a: integration(targets=a.targets))
    p_matrix = sub.add_parser("matrix", help="sanity and unit tests on each older ansible-core claimed, integration on the oldest")
    p_matrix.add_argument("--versions", help=f"comma-separated ansible-core releases (default {','.join(MATRIX)})")
    p_matrix.set_defaults(func=matrix)
    p_bench = sub.add_parser("bench", help="the benchmark suite; writes tests/benchmarks/RESULTS.md (--quick: small, no file)")
    p_bench.add_argument("--quick", action="store_true")
    p_bench.add_argument("--only", help="comma-separated figures: wait,polls,build,upload,download,get,list,parallel,head,prune,"
                                        "ready,environment,deployment,namespace,inventory")
    p_bench.set_defaults(func=bench)
    sub.add_parser("lint", help="only ansible-lint").set_defaults(func=lint)
    sub.add_parser("changelog", help="only antsibull-changelog lint").set_defaults(func=changelog)
    sub.add_parser("galaxy", help="only the tarball build and galaxy-importer").set_defaults(func=galaxy)
    sub.add_parser("docs", help="build the docsite into docs/build/html").set_defaults(func=docs)
    sub.add_parser("ee", help="only the execution environment checks").set_defaults(func=execution_environment)
    args = parser.parse_args()
    if args.command in BYTECODE_CACHE_COMMANDS and "MXPC_ZIPIMPORT_CACHE" not in os.environ:
        # One cache for the run and the steps it starts, new each time (a first run pays every compilation), removed
        # at the end; MXPC_ZIPIMPORT_CACHE=off turns it off, a directory of one's own keeps it between runs.
        os.environ["MXPC_ZIPIMPORT_CACHE"] = tempfile.mkdtemp(prefix="mxpc-zipimport-")
        try:
            args.func(args)
        finally:
            shutil.rmtree(os.environ.pop("MXPC_ZIPIMPORT_CACHE"), ignore_errors=True)
    else:
        if args.command not in BYTECODE_CACHE_COMMANDS:  # a step of the test command that runs no playbook of its own
            os.environ.pop("MXPC_ZIPIMPORT_CACHE", None)  # or measures a user's module runs (the benchmarks)
        args.func(args)


if __name__ == "__main__":
    main()

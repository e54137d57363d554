"""Development entry point: `python3 tools/dev.py demo` and `python3 tools/dev.py test`.

Both set everything up first: a virtual environment in .venv with the pinned tools, the emulator
installed into it, and the collection made visible to Ansible as mendix.private_cloud. Only Python 3
and access to the package registries are needed.
"""

import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
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
DEMO_TOKEN = "mxpc-demo-admin-0f3c9a7e51d24b6f"


def step(message):
    print(f"\n==> {message}", flush=True)


def run(cmd, env=None, cwd=ROOT, check=True):
    print("+ " + " ".join(cmd), flush=True)
    result = subprocess.run(cmd, env=env, cwd=cwd, check=False)
    if check and result.returncode != 0:
        raise SystemExit(f"command failed with exit code {result.returncode}: {' '.join(cmd)}")
    return result.returncode


def setup():
    """Create or refresh .venv when the requirement files changed; link the collection."""
    digest = hashlib.sha256()
    for path in REQUIREMENTS:
        with open(path, "rb") as handle:
            digest.update(handle.read())
    stamp_path = os.path.join(VENV, ".requirements.sha256")
    stamp = digest.hexdigest()
    current = open(stamp_path, encoding="utf-8").read().strip() if os.path.exists(stamp_path) else None
    if current != stamp:
        step("setting up .venv (Python tools and the emulator)")
        if not os.path.exists(PY):
            run([sys.executable, "-m", "venv", VENV])
        run([PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS[0], "-r", REQUIREMENTS[1],
             "-e", os.path.join(ROOT, "tests", "emulator")])
        with open(stamp_path, "w", encoding="utf-8") as handle:
            handle.write(stamp + "\n")
    os.makedirs(os.path.dirname(COLLECTION_LINK), exist_ok=True)
    if not os.path.islink(COLLECTION_LINK):
        os.symlink(ROOT, COLLECTION_LINK)


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
    setup()
    step("demo: build -> wait -> hand-off against a local emulator")
    with tempfile.TemporaryDirectory(prefix="mxpc-demo-") as data_dir:
        proc, url = start_emulator(data_dir, "--build-seconds", "3")
        try:
            env = tool_env(MENDIX_PRIVATE_CLOUD_URL=url, MENDIX_PAT=DEMO_TOKEN)
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


def offline_get_pip():
    """ansible-test fetches a pip bootstrap script; where that host is out of reach, use the stand-in beside the project."""
    cache = os.path.expanduser("~/.ansible/test/cache/get_pip_24_2.py")
    if os.path.exists(SHARED_GET_PIP) and not os.path.exists(cache):
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        shutil.copy(SHARED_GET_PIP, cache)


def sanity(_args=None):
    setup()
    offline_get_pip()
    step("ansible-test sanity (from a copy under ansible_collections/mendix/private_cloud)")
    base, dest = sanity_tree()
    try:
        env = tool_env()
        env.pop("PYTHONPATH")
        env.pop("ANSIBLE_COLLECTIONS_PATH")
        run([os.path.join(BIN, "ansible-test"), "sanity", "--python", "3.11", "--color", "no", "--requirements"], env=env, cwd=dest)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def lint(_args=None):
    setup()
    step("ansible-lint --profile production")
    run([os.path.join(BIN, "ansible-lint"), "--profile", "production", "--offline"], env=tool_env())


def pytest(args):
    setup()
    step("pytest: unit, emulator and integration tests")
    cmd = [PY, "-m", "pytest", "-c", os.path.join(ROOT, "tests", "pytest.ini"), "--rootdir", ROOT]
    default = [d for d in ("tests/unit", "tests/emulator/tests", "tests/integration") if os.path.isdir(os.path.join(ROOT, d))]
    cmd += args.pytest_args or default
    run(cmd, env=tool_env())


def changelog(_args=None):
    setup()
    step("antsibull-changelog lint")
    run([os.path.join(BIN, "antsibull-changelog"), "lint"], env=tool_env())


def test(args):
    started = time.monotonic()
    setup()
    pytest(args)
    changelog()
    lint()
    sanity()
    print(f"\nall checks passed in {time.monotonic() - started:.0f} s", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="create or refresh .venv and link the collection").set_defaults(func=lambda _a: setup())
    sub.add_parser("demo", help="set up, start the emulator and run the demo playbook").set_defaults(func=demo)
    p_test = sub.add_parser("test", help="set up and run the whole test suite")
    p_test.add_argument("pytest_args", nargs="*", help="pytest arguments instead of the default test folders")
    p_test.set_defaults(func=test)
    p_py = sub.add_parser("pytest", help="only the pytest suites")
    p_py.add_argument("pytest_args", nargs="*")
    p_py.set_defaults(func=pytest)
    sub.add_parser("sanity", help="only ansible-test sanity").set_defaults(func=sanity)
    sub.add_parser("lint", help="only ansible-lint").set_defaults(func=lint)
    sub.add_parser("changelog", help="only antsibull-changelog lint").set_defaults(func=changelog)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()

"""The test runs' cache of compiled module payloads (tools/zipimport_cache): the same code, only compiled once.

Each case runs a real Python with the cache's sitecustomize on its path and imports a module from a zip, as an
Ansible module run imports its payload.
"""

import glob
import marshal
import os
import subprocess
import sys
import zipfile

SITE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools",
                    "zipimport_cache")
SOURCE = '''
def where():
    def inner():
        return __file__
    return inner.__code__.co_filename, where.__code__.co_filename

ANSWER = %d
'''
PROBE = "import sys; sys.path.insert(0, sys.argv[1]); import payload_mod; print(payload_mod.ANSWER, *payload_mod.where())"


def payload(directory, answer):
    """A zip holding payload_mod.py, in its own directory as each module run's payload is."""
    os.makedirs(directory)
    path = os.path.join(directory, "payload.zip")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("payload_mod.py", SOURCE % answer)
    return path


def probe(path, cache, cwd=None):
    env = dict(os.environ, PYTHONPATH=SITE, MXPC_ZIPIMPORT_CACHE=str(cache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run([sys.executable, "-c", PROBE, path], capture_output=True, text=True, env=env, check=True,
                         timeout=60, cwd=cwd).stdout.split()
    return int(out[0]), out[1:]


def test_a_second_run_loads_the_compiled_code_with_its_own_file_names(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    first = payload(str(tmp_path / "run1"), 1)
    assert probe(first, cache) == (1, [os.path.join(first, "payload_mod.py")] * 2)
    kept = glob.glob(str(cache / "*"))
    assert len(kept) == 1
    # The cache is what the second run reads: code put there under the source's key is what runs...
    with open(kept[0], "wb") as handle:
        handle.write(marshal.dumps(compile(SOURCE % 7, "elsewhere.py", "exec")))
    second = payload(str(tmp_path / "run2"), 1)
    answer, files = probe(second, cache)
    assert answer == 7
    # ... with the file names of where it is imported from now, nested code included, as for any .pyc.
    assert files == [os.path.join(second, "payload_mod.py")] * 2


def test_a_changed_source_is_compiled_again(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    assert probe(payload(str(tmp_path / "run1"), 1), cache)[0] == 1
    assert probe(payload(str(tmp_path / "run2"), 2), cache)[0] == 2
    assert len(glob.glob(str(cache / "*"))) == 2


def test_off_keeps_nothing(tmp_path):
    (tmp_path / "off").mkdir()  # were "off" taken for a directory, the code would be kept there
    assert probe(payload(str(tmp_path / "run1"), 3), "off", cwd=tmp_path)[0] == 3
    assert not os.listdir(tmp_path / "off")

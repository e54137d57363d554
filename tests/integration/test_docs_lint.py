"""The docs lint of tools/dev.py passes whatever name the linter's temporary copy of the collection gets.

antsibull-docs lints the plugin pages from a copy of the collection in a temporary folder, and the pages' github_url
points into that copy. A folder name ending with "_" (one run in 37) made reStructuredText read the URL as a link to
a target, and every page failed with "Unknown target name". This test gives the linter such a name every time.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import dev  # noqa: E402  pylint: disable=wrong-import-position

# The linter, with its temporary folder named to end with "_"; it says so, so that a linter whose internals moved
# cannot pass this test without the name.
LINTER = """
import os, sys, tempfile
import antsibull_docs.utils.collection_copier as copier

def named(prefix="", **kwargs):
    folder = tempfile.mkdtemp(prefix=prefix)
    os.rename(folder, folder + "_")
    print("temporary folder: " + folder + "_", flush=True)
    return folder + "_"

copier.ansible_mkdtemp = named
from antsibull_docs.cli.antsibull_docs import main
sys.argv = ["antsibull-docs"] + sys.argv[1:]
sys.exit(main())
"""


def test_the_docs_lint_passes_when_the_linters_folder_name_ends_with_an_underscore():
    proc = subprocess.run([dev.PY, "-c", LINTER, *dev.DOCS_LINT_ARGS], cwd=ROOT, env=dev.tool_env(), capture_output=True,
                          text=True, check=False, timeout=600)
    out = proc.stdout + proc.stderr
    assert re.search(r"^temporary folder: \S+_$", out, re.M), "the linter did not take the folder name given:\n" + out
    assert proc.returncode == 0, out

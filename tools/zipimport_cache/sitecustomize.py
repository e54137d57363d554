"""Test runs only: the bytecode of Ansible modules' payloads, kept across module runs (tools/dev.py sets it up).

Each module run unpacks its payload (ansible.module_utils, the collection's module_utils and the module) into a new
temporary directory and imports it with zipimport, which neither reads nor writes bytecode: every run compiles the
same sources again, and on the test machines that is about 40 % of a module run's CPU time. When MXPC_ZIPIMPORT_CACHE
names a directory, the code compiled from a source is kept there under the hash of that source and the interpreter,
and a later run with the same source loads it, with its file name set to where it is imported from now, as Python
does for any .pyc. What runs is the same code; only its compilation is shared.
"""

import os


def _install(cache):
    # pylint: disable=import-outside-toplevel
    import _imp
    import hashlib
    import marshal
    import sys
    import zipimport

    compile_source = getattr(zipimport, "_compile_source", None)
    if compile_source is None:  # another Python's zipimport: nothing to do
        return
    tag = f"{sys.implementation.cache_tag}-O{sys.flags.optimize}"

    def cached_compile(pathname, source):
        path = os.path.join(cache, f"{hashlib.sha256(source).hexdigest()}.{tag}")
        try:
            with open(path, "rb") as handle:
                code = marshal.loads(handle.read())
        except (OSError, EOFError, ValueError, TypeError):
            code = compile_source(pathname, source)
            if code is not None:
                partial = f"{path}.{os.getpid()}"
                try:
                    with open(partial, "wb") as handle:
                        handle.write(marshal.dumps(code))
                    os.replace(partial, path)
                except OSError:
                    pass
            return code
        _imp._fix_co_filename(code, pathname)  # pylint: disable=protected-access
        return code

    zipimport._compile_source = cached_compile  # pylint: disable=protected-access


if os.environ.get("MXPC_ZIPIMPORT_CACHE", "").lower() not in ("", "0", "off", "no", "false"):
    _install(os.environ["MXPC_ZIPIMPORT_CACHE"])

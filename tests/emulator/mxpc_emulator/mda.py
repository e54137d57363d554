"""Deployment package (.mda) files and build logs, as the build pipeline would produce them."""

import datetime
import json
import re
import zipfile

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def model_version(vcs, version, revision):
    """`<version>.<revision>` for SVN, `<version>.<first 8 chars of the hash>` for git."""
    version = version or "1.0.0"
    if vcs == "svn":
        return f"{version}.{revision}"
    return f"{version}.{revision[:8]}"


def file_name_for(vcs, branch, model_ver):
    """`<branch>-<modelVersion>.mda`; SVN trunk is named MainLine, other names keep [A-Za-z0-9._-]."""
    if vcs == "svn" and branch == "trunk":
        name = "MainLine"
    else:
        name = _UNSAFE.sub("", branch) or "branch"
    return f"{name}-{model_ver}.mda"


def write_mda(path, model_ver, runtime_version, app_name, fails_to_start=False):
    """Write a small but real zip archive with the layout of an .mda file (FailsToStart marks a package whose app the
    emulator lets fail to start)."""
    metadata = {"ModelVersion": model_ver, "RuntimeVersion": runtime_version, "ProjectName": app_name}
    if fails_to_start:
        metadata["FailsToStart"] = True
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model/metadata.json", json.dumps(metadata, indent=2))
        archive.writestr("model/model.mdp", f"MPK emulated model {app_name} {model_ver}\n" * 64)
        archive.writestr("web/index.html", f"<!doctype html><title>{app_name}</title><p>{model_ver}</p>\n")
        archive.writestr("lib/userlib/README.txt", "User libraries of the emulated app.\n")


def is_zip(path):
    """Whether a file is a zip archive (its central directory is found)."""
    return zipfile.is_zipfile(path)


def read_mda_metadata(path):
    """ModelVersion and RuntimeVersion from an uploaded .mda, when it carries them."""
    try:
        with zipfile.ZipFile(path) as archive:
            with archive.open("model/metadata.json") as handle:
                data = json.load(handle)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile):
        return {}
    return {k: str(v) for k, v in data.items() if k in ("ModelVersion", "RuntimeVersion", "FailsToStart")}


def _stamp(start, offset):
    return (start + datetime.timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_log(app_id, vcs, branch, revision, outcome, runtime_version, detail=""):
    """A build log shaped like the pipeline's: teamserver discovery, checkout, mxbuild."""
    start = datetime.datetime.now(datetime.timezone.utc)
    lines = [
        f"Pipeline created at {start.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"[teamserver-discovery] {_stamp(start, 1)} Project: {app_id}",
        f"[teamserver-discovery] {_stamp(start, 1.1)} Determining repository type...",
        f"[teamserver-discovery] {_stamp(start, 1.2)} Repository type: {vcs}",
    ]
    if outcome == "unknown-branch":
        lines.append(f"[checkout] {_stamp(start, 2)} ERROR: branch '{branch}' does not exist in the repository.")
        if detail:
            lines.append(f"[checkout] {_stamp(start, 2.1)} {detail}")
        return "\n".join(lines) + "\n"
    lines.append(f"[checkout] {_stamp(start, 2)} Checking out branch '{branch}' at revision {revision}")
    if outcome == "unknown-revision":
        lines.append(f"[checkout] {_stamp(start, 2.1)} ERROR: revision '{revision}' was not found on branch '{branch}'.")
        return "\n".join(lines) + "\n"
    lines += [
        f"[checkout] {_stamp(start, 4)} Checkout completed",
        f"[build] {_stamp(start, 5)} Using Mendix runtime {runtime_version}",
        f"[build] {_stamp(start, 5.1)} Starting mxbuild --java-home=/usr/lib/jvm/java-21 --target=package",
        f"[build] {_stamp(start, 8)} Loading project...",
        f"[build] {_stamp(start, 12)} Checking project for errors...",
    ]
    if outcome == "compile-error":
        lines += [
            f"[build] {_stamp(start, 14)} ERROR: CE0117 Error(s) in expression. (MyFirstModule.ACT_ProcessOrder, Change object activity)",
            f"[build] {_stamp(start, 14.1)} ERROR: CE1613 The selected attribute 'MyFirstModule.Order.Total' no longer exists."
            " (MyFirstModule.Order_Overview, Data grid column)",
            f"[build] {_stamp(start, 14.2)} ERROR: CE0463 The definition of this widget has changed. (Administration.Account_Edit)",
            f"[build] {_stamp(start, 14.3)} The project contains 3 errors. Fix the errors and try again.",
            f"[build] {_stamp(start, 14.4)} mxbuild exited with code 1",
            f"Pipeline failed at {_stamp(start, 15)}",
        ]
    else:
        lines += [
            f"[build] {_stamp(start, 20)} Generating deployment package...",
            f"[build] {_stamp(start, 25)} Deployment package created",
            f"Pipeline finished at {_stamp(start, 26)}",
        ]
    return "\n".join(lines) + "\n"

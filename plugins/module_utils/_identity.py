# -*- coding: utf-8 -*-
# Copyright (c) mendix.private_cloud contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Package identity: which package is the build or the upload a task asks for.

Every module, the lookup and the role decide "is this that package?" here and nowhere else. The rules, as the
idempotency guide documents them:

Build identity is (app, branch, revision, version); without a version it is the API's default, 1.0.0.
A package is that build when the evidence says so:

1. The marker. When the collection builds, it appends a short marker to the package description,
   ``[mendix.private_cloud: branch="main" revision="6f995268" version="1.0.1"]``, after the user's own text. A
   package with a marker is the build exactly when branch and version are equal and the revisions are the same
   (equal, or for a git app one a prefix of at least 7 characters of the other).
2. Without a marker, the documented names: the ``modelVersion`` is ``<version>.<revision>`` (SVN) or
   ``<version>.<first 8 characters of the hash>`` (git), and the ``fileName`` is ``<branch>-<modelVersion>.mda``
   (``MainLine`` for the SVN trunk). Both must hold: a package whose model version fits but whose file name does
   not name the branch cannot be tied to the request. It is never reported as the match; the module builds
   again and warns why.

Git or SVN is never guessed from a revision's characters being digits. It is known from the ``vcs`` option,
from a revision with a letter (an SVN revision is a number), or from the app's package history (a documented
git model version with a letter in its hash part, or a ``MainLine-`` file). Unknown, only equal revisions
match, plus the marker's exact revision on re-runs.

Upload identity is the file's content: the stored file name carries the first 16 hex digits of the file's
SHA-256 (``my-app_2.2.1.sha256-0123456789abcdef.mda``), so a re-run hashes the local file and compares names and
sizes, without downloading anything.

"Newest" is the latest ``createdOn``, ties broken by package id, never the API's list order.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import re

DEFAULT_VERSION = "1.0.0"
MARKER_NAME = "mendix.private_cloud"
MARKER_RE = re.compile(r'\s*\[mendix\.private_cloud:((?:\s+[a-z]+="(?:[^"\\]|\\.)*")+)\]\s*$')
MARKER_FIELD_RE = re.compile(r'([a-z]+)=("(?:[^"\\]|\\.)*")')
DIGEST_RE = re.compile(r"\.sha256-[0-9a-f]{16}$")
DIGEST_LENGTH = 16
HEX_RE = re.compile(r"^[0-9a-f]+$")
CREATED_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|([+-])(\d{2}):?(\d{2}))?$")
UTC = datetime.timezone.utc
UNSAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]")
SVN_TRUNK = "trunk"
SVN_TRUNK_FILE_NAME = "MainLine"

MATCH = "match"
OTHER = "other"
UNTIED = "untied"


# ---------------------------------------------------------------------- order
def created_key(pkg):
    """Sort key: createdOn as seconds since the epoch (unreadable dates count as oldest), then the id. The fields are
    taken by the pattern and checked by datetime itself (strptime costs ten times as much, for every package of a
    10,000-package list, on each sort)."""
    match = CREATED_RE.match(str(pkg.get("createdOn") or ""))
    stamp = float("-inf")
    if match:
        year, month, day, hour, minute, second, fraction, sign, zone_hours, zone_minutes = match.groups()
        try:
            stamp = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                                      int((fraction or "0")[:6].ljust(6, "0")), tzinfo=UTC).timestamp()
            if sign:
                offset = int(zone_hours) * 3600 + int(zone_minutes) * 60
                if offset >= 86400 or int(zone_minutes) >= 60:
                    raise ValueError("not a zone offset")
                stamp -= offset if sign == "+" else -offset
        except ValueError:
            stamp = float("-inf")
    return (stamp, str(pkg.get("id") or ""))


def newest_first(packages):
    """The packages ordered newest first by createdOn (ties by id), whatever order the API listed them in."""
    return sorted(packages, key=created_key, reverse=True)


# ---------------------------------------------------------------------- build marker
def build_marker(branch, revision, version):
    """The marker the collection appends to the description of a package it builds."""
    fields = (("branch", branch), ("revision", revision), ("version", version or DEFAULT_VERSION))
    return "[%s: %s]" % (MARKER_NAME, " ".join("%s=%s" % (k, json.dumps(v, ensure_ascii=False)) for k, v in fields))


def described(description, branch, revision, version):
    """The description sent with a build: the user's own text first, then the marker."""
    marker = build_marker(branch, revision, version)
    return "%s %s" % (description, marker) if description else marker


def parse_marker(description):
    """(user's description, marker fields) of a package description; fields is None without a marker."""
    text = description or ""
    match = MARKER_RE.search(text)
    if not match:
        return text, None
    fields = {}
    for key, value in MARKER_FIELD_RE.findall(match.group(1)):
        try:
            fields[key] = json.loads(value)
        except ValueError:
            return text, None
    if not all(isinstance(fields.get(k), str) for k in ("branch", "revision", "version")):
        return text, None
    return text[:match.start()], fields


# ---------------------------------------------------------------------- version control system
def vcs_of_revision(revision):
    """'git' when the revision cannot be an SVN revision number (it has a letter), else None (digits prove nothing)."""
    return "git" if revision and not revision.isdigit() else None


def vcs_from_history(packages):
    """'git' or 'svn' when the app's packages prove it, else None.

    A documented git model version ends in 8 hex digits with at least one letter; an SVN trunk build is named
    MainLine-<modelVersion>.mda; the marker of a build this collection started names its revision, and one with a
    letter is a git hash. Packages whose names follow no documented format, and carry no such marker, prove nothing.
    """
    for pkg in packages:
        dummy, marker = parse_marker(pkg.get("description"))
        if marker is not None and vcs_of_revision(marker.get("revision")) == "git":
            return "git"
        model_version = str(pkg.get("modelVersion") or "")
        file_name = str(pkg.get("fileName") or "")
        if not file_name.endswith("-%s.mda" % model_version) or "." not in model_version:
            continue
        if file_name == "%s-%s.mda" % (SVN_TRUNK_FILE_NAME, model_version):
            return "svn"
        segment = model_version.rsplit(".", 1)[1]
        if len(segment) == 8 and HEX_RE.match(segment) and not segment.isdigit():
            return "git"
    return None


def resolve_vcs(option, revision, packages):
    """The app's version control system as far as the evidence goes: the option, the revision, the history, or None."""
    if option in ("git", "svn"):
        return option
    return vcs_of_revision(revision) or vcs_from_history(packages)


def same_revision(a, b, vcs):
    """Whether two requested revisions name the same commit: equal, or for git a 7+ character prefix of the other."""
    a, b = (a or "").strip(), (b or "").strip()
    if vcs == "git":
        a, b = a.lower(), b.lower()
        if a == b:
            return True
        short, full = sorted((a, b), key=len)
        return len(short) >= 7 and full.startswith(short)
    return a == b


def segment_matches(segment, revision, vcs):
    """Whether the revision part of a documented modelVersion is what a build of ``revision`` produces."""
    if segment == revision:
        return True
    if vcs != "git" or len(revision) < 7:
        return False
    segment, revision = segment.lower(), revision.lower()
    if len(revision) >= 8:
        return segment == revision[:8]
    return len(segment) == 8 and segment.startswith(revision)


def predicted_model_version(version, revision, vcs):
    """The modelVersion a build will get, or None when it cannot be known (see model_version_unknown)."""
    if model_version_unknown(revision, vcs):
        return None
    version = version or DEFAULT_VERSION
    if vcs == "git" or (vcs is None and not revision.isdigit()):
        return "%s.%s" % (version, revision[:8].lower())
    return "%s.%s" % (version, revision)


def model_version_unknown(revision, vcs):
    """Why the modelVersion of a build of ``revision`` cannot be known before it is built, or None when it can.

    A git build's model version ends in the first 8 characters of the commit's hash; an SVN build's in the revision
    number. So it is unknown for a git hash shorter than 8 characters (the 8th is the build's to tell), and, when the
    app's version control is not known, for a digits-only revision that may be either: 7 digits (an SVN revision, or
    a git hash's first 7 characters) or more than 8 (an SVN revision, or a hash of digits). 8 digits give the same
    model version either way; up to 6 digits are taken for an SVN revision (git shortens a hash to 7 at least).
    """
    if vcs == "git" or (vcs is None and not revision.isdigit()):
        if len(revision) < 8:
            return ("a git build's model version ends in the first 8 characters of the commit's hash; revision %s has "
                    "%d, so the 8th is the build's to tell" % (revision, len(revision)))
        return None
    if vcs is None and (len(revision) == 7 or len(revision) > 8):
        return ("revision %s is digits only, so it may be an SVN revision or a git commit's hash, which give other "
                "model versions, and nothing tells the app's version control (set vcs)" % revision)
    return None


def branch_file_names(branch):
    """The names a documented fileName may start with for a branch (before -<modelVersion>.mda)."""
    names = set([branch, UNSAFE_NAME_RE.sub("", branch), branch.replace("/", "-"), branch.replace("/", "_")])
    if branch == SVN_TRUNK:
        names.add(SVN_TRUNK_FILE_NAME)
    names.discard("")
    return names


# ---------------------------------------------------------------------- the identity rule
def build_identity(pkg, branch, revision, version, vcs):
    """Whether ``pkg`` is the build of (branch, revision, version): (MATCH | OTHER | UNTIED, reason).

    UNTIED means the package's model version fits but nothing ties it to the branch or to the whole revision: it
    may be this build or another one, so it is not taken as the match.
    """
    version = version or DEFAULT_VERSION
    vcs = vcs or vcs_of_revision(revision)
    dummy, marker = parse_marker(pkg.get("description"))
    if marker is not None:
        if marker["branch"] != branch or marker["version"] != version:
            return OTHER, "marker"
        if same_revision(marker["revision"], revision, vcs):
            return MATCH, "marker"
        if vcs is None and same_revision(marker["revision"], revision, "git"):
            return UNTIED, ("its marker names revision %s, of which %s is a prefix or the other way round; that is one "
                            "commit only in a git app, and nothing says the app is git (set vcs: git)"
                            % (marker["revision"], revision))
        return OTHER, "marker"
    model_version = str(pkg.get("modelVersion") or "")
    if not model_version.startswith(version + "."):
        return OTHER, "model version"
    segment = model_version[len(version) + 1:]
    if not segment_matches(segment, revision, vcs):
        if vcs is None and len(revision) > 8 and segment.lower() == revision[:8].lower():
            return UNTIED, ("its model version %s ends in the first 8 characters of revision %s, which only a git app "
                            "produces, and nothing says the app is git (set vcs: git)" % (model_version, revision))
        return OTHER, "model version"
    file_name = str(pkg.get("fileName") or "")
    if any(file_name == "%s-%s.mda" % (name, model_version) for name in branch_file_names(branch)):
        return MATCH, "documented names"
    return UNTIED, ("its model version %s fits, but its file name %s does not name branch %s, and it carries no "
                    "marker of this collection" % (model_version, file_name, branch))


def package_origin(pkg):
    """(branch, revision) a package was built from, as far as it tells: its marker, else its documented names; None
    for a part it does not tell (an upload, or a build named in no documented format without a marker).

    From the names the branch is the file name's part before ``-<modelVersion>.mda`` (``MainLine`` is SVN's trunk);
    for a branch with a slash that part is the name the build service made of it, so it groups the branch's builds
    but may differ from the branch's own name. The revision from the names is the model version's last part (for a
    git app the first 8 characters of the hash).
    """
    dummy, marker = parse_marker(pkg.get("description"))
    if marker is not None:
        return marker["branch"], marker["revision"]
    model_version = str(pkg.get("modelVersion") or "")
    file_name = str(pkg.get("fileName") or "")
    suffix = "-%s.mda" % model_version
    if model_version.count(".") < 3 or not file_name.endswith(suffix) or len(file_name) == len(suffix):
        return None, None
    prefix = file_name[:-len(suffix)]
    return (SVN_TRUNK if prefix == SVN_TRUNK_FILE_NAME else prefix), model_version.rsplit(".", 1)[1]


def find_build(packages, branch, revision, version, vcs, exclude=()):
    """(newest matching package or None, [(package, reason) for packages that fit but cannot be tied])."""
    untied = []
    for pkg in newest_first(packages):
        if pkg.get("id") in exclude:
            continue
        verdict, reason = build_identity(pkg, branch, revision, version, vcs)
        if verdict == MATCH:
            return pkg, untied
        if verdict == UNTIED:
            untied.append((pkg, reason))
    return None, untied


def untied_warning(untied, branch, revision, version):
    """The warning given when packages fit a build only partly and a new build is started."""
    parts = ["package %s: %s" % (pkg.get("id"), reason) for pkg, reason in untied[:3]]
    more = " (and %d more)" % (len(untied) - 3) if len(untied) > 3 else ""
    return ("Building branch=%s revision=%s version=%s although packages fit partly, because no evidence ties them to "
            "this build: %s%s." % (branch, revision, version or DEFAULT_VERSION, "; ".join(parts), more))


# ---------------------------------------------------------------------- uploads
def file_digest(path, chunk_size=1024 * 1024):
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            block = handle.read(chunk_size)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def mda_name(file_name):
    """The name the API stores: .mda is appended when missing."""
    return file_name if file_name.lower().endswith(".mda") else file_name + ".mda"


def upload_name(file_name, digest=None):
    """The stored name of an upload: the user's name, then .sha256-<16 hex digits of the content> before .mda.

    A name that already carries a content tag (a file downloaded from the API) gets the tag of its real content.
    Without a digest (marker off), the user's name with .mda appended.
    """
    name = mda_name(file_name)
    if digest is None:
        return name
    stem = DIGEST_RE.sub("", name[:-4])
    return "%s.sha256-%s.mda" % (stem, digest[:DIGEST_LENGTH])


def find_upload(packages, stored_name, file_size, exclude=()):
    """The newest package with the stored name and size of the upload."""
    for pkg in newest_first(packages):
        if pkg.get("id") not in exclude and pkg.get("fileName") == stored_name and pkg.get("fileSize") == file_size:
            return pkg
    return None


def name_matches(stored, file_name):
    """Whether a package stored as ``stored`` has the name ``file_name``: the stored name itself, or the name an
    upload was given (``my-app_2.2.1.mda`` for ``my-app_2.2.1.sha256-0123456789abcdef.mda``); ``.mda`` is appended
    to ``file_name`` when missing."""
    name = mda_name(file_name)
    stored = str(stored or "")
    if stored == name:
        return True
    return stored.lower().endswith(".mda") and DIGEST_RE.sub("", stored[:-4]) + ".mda" == name


def filter_packages(packages, file_name=None, model_version=None, model_version_prefix=None, build=None, branch=None):
    """The packages, newest first, matching every filter given.

    ``file_name`` matches the stored name or the name an upload was given (see name_matches). ``build`` is a
    dict(branch, revision, version, vcs): only packages that are that build by the identity rule. ``branch`` alone:
    only packages that tell they were built from that branch (package_origin; uploads tell no branch).
    """
    out = []
    for pkg in newest_first(packages):
        if file_name and not name_matches(pkg.get("fileName"), file_name):
            continue
        if branch is not None and package_origin(pkg)[0] != branch:
            continue
        if model_version and pkg.get("modelVersion") != model_version:
            continue
        if model_version_prefix and not str(pkg.get("modelVersion", "")).startswith(model_version_prefix):
            continue
        if build is not None:
            verdict, dummy = build_identity(pkg, build["branch"], build["revision"], build.get("version"), build.get("vcs"))
            if verdict != MATCH:
                continue
        out.append(pkg)
    return out

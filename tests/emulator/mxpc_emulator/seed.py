"""Seed data: the built-in demo seed, loading a seed file, and checking its shape."""

import json
import uuid

import yaml

SCOPE_BUILD_READ = "mx:privatecloud-build:read"
SCOPE_BUILD_WRITE = "mx:privatecloud-build:write"
SCOPE_MODELREPO_WRITE = "mx:modelrepository:write"
SCOPE_DEPLOY_READ = "mx:deployment:read"
SCOPE_DEPLOY_WRITE = "mx:deployment:write"
SCOPE_REPO_READ = "mx:modelrepository:repo:read"
ALL_SCOPES = [SCOPE_BUILD_READ, SCOPE_BUILD_WRITE, SCOPE_MODELREPO_WRITE, SCOPE_DEPLOY_READ, SCOPE_DEPLOY_WRITE, SCOPE_REPO_READ]

DEFAULT_SETTINGS = {
    "build_seconds": 3.0,
    "upload_seconds": 1.0,
    "delete_seconds": 1.0,
    "deploy_seconds": 2.0,
    "start_seconds": 2.0,  # after a deploy job, how long the app takes to start (Processing, then Ready or Failed)
    "url_ttl_seconds": 900,
}

# Behaviours the API's documentation leaves open, each settable to every way it allows. The first is the default.
CHOICE_SETTINGS = {
    "list_order": ("newest", "oldest", "shuffled"),  # the list's order: the spec promises none
    "location_version": ("v4", "v3"),  # the doc's example Location header points at /api/v3/jobs/<id>
    "naming": ("documented", "opaque"),  # built packages' fileName and modelVersion: documented examples, or neither
    "failed_job_status": ("failed", "created"),  # created: the spec's job example, an error next to status created
}
INT_SETTINGS = {
    "max_page_size": 50,  # a larger `limit` is served clamped to this, and pagination.limit says so
    # The App Repository API's pages hold at most this many items whatever the limit (cursor paging allows it); small,
    # so that paging is real.
    "repo_max_page_size": 3,
}

# properties.environmentPurpose: set in the Portal, read-only through the API
PURPOSES = ("Test", "Development", "Acceptance", "Production")

DEMO_GIT_APP_ID = "c533ee0b-f7db-4e62-868b-1192d392ccec"
DEMO_SVN_APP_ID = "7b3f1c2e-5d4a-4e8b-9c6f-0a1b2c3d4e5f"
DEMO_NAMESPACE_ID = "d43aee0b-f7db-4e62-868b-1192d392cfed"
DEMO_CLUSTER_ID = "a712d8f4-a77c-4189-a211-e0ea1dfde03c"

DEMO_SEED = {
    "tokens": [
        {"name": "admin", "token": "mxpc-demo-admin-0f3c9a7e51d24b6f", "scopes": list(ALL_SCOPES)},
        {"name": "readonly", "token": "mxpc-demo-readonly-7d1e2b9c40a5",
         "scopes": [SCOPE_BUILD_READ, SCOPE_DEPLOY_READ, SCOPE_REPO_READ]},
        {
            "name": "no-modelrepo",
            "token": "mxpc-demo-nomodelrepo-3a8f6e2d19c7",
            "scopes": [SCOPE_BUILD_READ, SCOPE_BUILD_WRITE, SCOPE_DEPLOY_READ, SCOPE_DEPLOY_WRITE],
        },
    ],
    "apps": [
        {
            "id": DEMO_GIT_APP_ID,
            "name": "demo-git-app",
            "vcs": "git",
            "runtime_version": "10.18.1.51001",
            "branches": {
                "main": [
                    "6f995268a3c14d0e8b2f7a9c1d3e5f7081a2b3c4",
                    "93de884c0b1a2d3e4f5061728394a5b6c7d8e9f0",
                    "1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d",
                    "e4b1d2c3a4f5e6d7c8b9a0f1e2d3c4b5a6978899",
                ],
                "feature/login-page": [
                    "b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6",
                    "deadbeef00112233445566778899aabbccddeeff",
                ],
                # a commit whose hash is all digits, as about 4 % of 7-character short hashes are
                "release-2": ["2718281828459045235360287471352662497757"],
            },
            "failing_revisions": ["deadbeef00112233445566778899aabbccddeeff"],
            # builds, but the app fails to start
            "failing_start_revisions": ["b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6"],
            # what the app's model defines: constants (name: default value) and scheduled events
            "constants": {"MyFirstModule.ApiUrl": "https://api.example.test", "MyFirstModule.FeatureLoginPage": "false",
                          "MyFirstModule.MaxUploadMB": "25"},
            "scheduled_events": ["MyFirstModule.NightlyCleanup", "MyFirstModule.SendReminders"],
            "namespaces": [
                {
                    "id": DEMO_NAMESPACE_ID,
                    "cluster_id": DEMO_CLUSTER_ID,
                    "name": "demo-namespace",
                    "environments": [
                        # the app is served by the emulator (/_apps/gitdemo/), so that health checks can reach it
                        {"id": "gitdemo", "app_url": "/_apps/gitdemo/", "package_id": None, "instances": 1},
                    ],
                }
            ],
        },
        {
            "id": DEMO_SVN_APP_ID,
            "name": "demo-svn-app",
            "vcs": "svn",
            "runtime_version": "9.24.2.18293",
            "branches": {
                "trunk": ["101", "102", "587", "623"],
                # SVN revision numbers are repository-wide: release-1.2@623 and trunk@623 are two builds
                "release-1.2": ["590", "601", "623"],
            },
            "failing_revisions": ["601"],
            "constants": {"Administration.SupportEmail": "support@example.test"},
            "scheduled_events": ["Administration.PurgeSessions"],
            "namespaces": [
                {
                    "id": DEMO_NAMESPACE_ID,
                    "cluster_id": DEMO_CLUSTER_ID,
                    "name": "demo-namespace",
                    "environments": [
                        {"id": "svndemo", "app_url": "https://svn-demo.apps.example.test", "package_id": None, "instances": 2},
                    ],
                }
            ],
        },
    ],
    "settings": dict(DEFAULT_SETTINGS),
}


class SeedError(ValueError):
    """A seed file that does not have the documented shape."""


def load_seed(path):
    """Load a seed from a YAML or JSON file; None gives the built-in demo seed."""
    if path is None:
        return normalise(json.loads(json.dumps(DEMO_SEED)))
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SeedError(f"{path}: not valid YAML or JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SeedError(f"{path}: the seed must be a mapping with tokens, apps and settings")
    return normalise(data)


def _require(cond, message):
    if not cond:
        raise SeedError(message)


def _check_uuid(value, where):
    try:
        uuid.UUID(str(value))
    except ValueError as exc:
        raise SeedError(f"{where}: {value!r} is not a UUID") from exc


def normalise(data):
    """Check a seed's shape and fill in defaults; returns the seed."""
    unknown = set(data) - {"tokens", "apps", "settings"}
    _require(not unknown, f"seed: unknown top-level keys {sorted(unknown)}; expected tokens, apps, settings")
    tokens = data.get("tokens") or []
    _require(isinstance(tokens, list), "seed.tokens must be a list")
    names = set()
    for i, tok in enumerate(tokens):
        where = f"seed.tokens[{i}]"
        _require(isinstance(tok, dict), f"{where} must be a mapping")
        for key in ("name", "token"):
            _require(isinstance(tok.get(key), str) and tok[key], f"{where}.{key} must be a non-empty string")
        _require(tok["name"] not in names, f"{where}.name {tok['name']!r} is used twice")
        names.add(tok["name"])
        scopes = tok.setdefault("scopes", [])
        _require(isinstance(scopes, list) and all(isinstance(s, str) for s in scopes), f"{where}.scopes must be a list of strings")
    apps = data.get("apps") or []
    _require(isinstance(apps, list), "seed.apps must be a list")
    for i, app in enumerate(apps):
        where = f"seed.apps[{i}]"
        _require(isinstance(app, dict), f"{where} must be a mapping")
        _check_uuid(app.get("id"), f"{where}.id")
        app["id"] = str(app["id"]).lower()
        app.setdefault("name", app["id"])
        app.setdefault("vcs", "git")
        _require(app["vcs"] in ("git", "svn"), f"{where}.vcs must be git or svn")
        app.setdefault("runtime_version", "10.18.1.51001")
        app["runtime_version"] = str(app["runtime_version"])
        branches = app.setdefault("branches", {})
        _require(isinstance(branches, dict), f"{where}.branches must map branch names to lists of revisions")
        for name, revs in branches.items():
            _require(isinstance(revs, list), f"{where}.branches.{name} must be a list of revisions, oldest first")
            branches[name] = [str(r) for r in revs]
        app["failing_revisions"] = [str(r) for r in app.get("failing_revisions") or []]
        # builds of these revisions succeed, but their app fails to start (the environment ends Failed)
        app["failing_start_revisions"] = [str(r) for r in app.get("failing_start_revisions") or []]
        constants = app.setdefault("constants", {})
        _require(isinstance(constants, dict), f"{where}.constants must map constant names to default values")
        app["constants"] = {str(name): "" if value is None else str(value) for name, value in constants.items()}
        events = app.setdefault("scheduled_events", [])
        _require(isinstance(events, list), f"{where}.scheduled_events must be a list of scheduled event names")
        app["scheduled_events"] = [str(name) for name in events]
        namespaces = app.setdefault("namespaces", [])
        for j, ns in enumerate(namespaces):
            nwhere = f"{where}.namespaces[{j}]"
            _require(isinstance(ns, dict) and ns.get("id"), f"{nwhere}.id is required")
            ns["id"] = str(ns["id"])
            ns.setdefault("cluster_id", DEMO_CLUSTER_ID)
            ns.setdefault("name", ns["id"])
            for k, env in enumerate(ns.setdefault("environments", [])):
                ewhere = f"{nwhere}.environments[{k}]"
                _require(isinstance(env, dict) and env.get("id"), f"{ewhere}.id is required")
                _require(len(str(env["id"])) <= 32, f"{ewhere}.id must be at most 32 characters")
                env["id"] = str(env["id"])
                env.setdefault("app_url", f"https://{env['id']}.apps.example.test")
                env.setdefault("package_id", None)
                env["instances"] = int(env.get("instances", 1))
                _require(0 <= env["instances"] <= 10, f"{ewhere}.instances must be 0..10")
                env["name"] = str(env.get("name") or env["id"])
                env.setdefault("purpose", "Test")
                _require(env["purpose"] in PURPOSES, f"{ewhere}.purpose must be one of {', '.join(PURPOSES)}")
                env.setdefault("production", env["purpose"] == "Production")
                _require(isinstance(env["production"], bool), f"{ewhere}.production must be true or false")
    settings = dict(DEFAULT_SETTINGS)
    settings.update({key: choices[0] for key, choices in CHOICE_SETTINGS.items()})
    settings.update(INT_SETTINGS)
    given = data.get("settings") or {}
    _require(isinstance(given, dict), "seed.settings must be a mapping")
    return {"tokens": tokens, "apps": apps, "settings": merge_settings(settings, given)}


def merge_settings(settings, given, where="seed.settings"):
    """``settings`` updated with ``given`` after checking each key and value; raises SeedError."""
    settings = dict(settings)
    known = set(DEFAULT_SETTINGS) | set(CHOICE_SETTINGS) | set(INT_SETTINGS)
    unknown = set(given) - known
    _require(not unknown, f"{where}: unknown keys {sorted(unknown)}; expected {sorted(known)}")
    for key, value in given.items():
        if key in CHOICE_SETTINGS:
            _require(value in CHOICE_SETTINGS[key], f"{where}.{key} must be one of {', '.join(CHOICE_SETTINGS[key])}")
            settings[key] = value
            continue
        if key in INT_SETTINGS:
            _require(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
                     f"{where}.{key} must be a whole number of at least 1")
            settings[key] = value
            continue
        try:
            settings[key] = float(value)
        except (TypeError, ValueError) as exc:
            raise SeedError(f"{where}.{key} must be a number of seconds") from exc
        _require(settings[key] >= 0, f"{where}.{key} must not be negative")
    return settings

"""Persistent state: packages, jobs and environment manifests in SQLite, package files on disk (jobs.py runs the jobs).

Jobs carry the wall-clock time at which they are due, so that a job started before a crash or a restart
finishes when the emulator comes back on the same data directory.
"""

import copy
import datetime
import hashlib
import json
import os
import secrets
import sqlite3
import time
import uuid

from . import mda

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS packages (
    id TEXT PRIMARY KEY, app_id TEXT NOT NULL, model_version TEXT NOT NULL, runtime_version TEXT NOT NULL,
    created_on TEXT NOT NULL, created_ts REAL NOT NULL, description TEXT, file_name TEXT NOT NULL,
    file_size INTEGER NOT NULL, expiry_date TEXT NOT NULL, build_log TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS packages_by_app ON packages (app_id, created_ts DESC, seq DESC);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, app_id TEXT NOT NULL, created_ts REAL NOT NULL, due_ts REAL NOT NULL,
    status TEXT NOT NULL, details TEXT NOT NULL, params TEXT NOT NULL, package_id TEXT, error TEXT, log TEXT
);
CREATE INDEX IF NOT EXISTS jobs_pending ON jobs (status, due_ts);
CREATE TABLE IF NOT EXISTS commits (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT NOT NULL, branch TEXT NOT NULL, revision TEXT NOT NULL, meta TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS starts (
    app_id TEXT NOT NULL, namespace_id TEXT NOT NULL, env_id TEXT NOT NULL, package_id TEXT NOT NULL, due_ts REAL NOT NULL,
    outcome TEXT NOT NULL, PRIMARY KEY (app_id, namespace_id, env_id)
);
CREATE TABLE IF NOT EXISTS clusters (id TEXT PRIMARY KEY, manifest TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS namespaces (
    id TEXT PRIMARY KEY, cluster_id TEXT NOT NULL, manifest TEXT NOT NULL, secret TEXT NOT NULL, seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS environments (
    app_id TEXT NOT NULL, namespace_id TEXT NOT NULL, env_id TEXT NOT NULL, manifest TEXT NOT NULL,
    secrets TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (app_id, namespace_id, env_id)
);
"""

DETAILS = {
    "build": "Request to build deployment package.",
    "upload": "Request to upload deployment package.",
    "delete": "Request to delete deployment package.",
    "deploy": "Request to update environment.",
    "create_env": "Request to create environment.",
    "delete_env": "Request to delete environment.",
    "create_cluster": "Request to create cluster.",
    "update_cluster": "Request to update cluster.",
    "delete_cluster": "Request to delete cluster.",
    "create_namespace": "Request to create namespace.",
    "update_namespace": "Request to update namespace.",
    "delete_namespace": "Request to delete namespace.",
}
# The setting that times each kind of job.
SECONDS_SETTING = {"create_env": "deploy_seconds", "delete_env": "deploy_seconds"}
SECONDS_SETTING.update((f"{verb}_{what}", "deploy_seconds") for verb in ("create", "update", "delete")
                       for what in ("cluster", "namespace"))
# Jobs of the platform beneath the environments: their job GET needs the Deploy API's scopes too.
PLATFORM_JOBS = tuple(kind for kind in SECONDS_SETTING if kind.endswith(("_cluster", "_namespace")))
# Jobs that change an environment: while one is pending, its container state is Processing.
ENVIRONMENT_JOBS = ("deploy", "create_env", "delete_env")
# Runtime secrets: write-only (the 4.13 GET does not return them); this value clears one.
SECRETS = ("subscriptionSecret", "debuggerPassword", "mxAdminPassword")
CLEAR_SECRET = "LS0t"

# Manifest parts the Deploy API treats as non-editable: kept from the stored manifest on PUT.
NON_EDITABLE = {("properties", "environmentPurpose"), ("container", "state"), ("container", "lastRunningInstanceCount"), ("provider",)}


def iso(ts):
    """ISO 8601 UTC with milliseconds and a Z, as the API's date-time fields."""
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Store:
    """State of one emulator, kept under its data directory."""

    def __init__(self, data_dir, seed):
        self.data_dir = os.path.abspath(data_dir)
        self.package_dir = os.path.join(self.data_dir, "packages")
        self.upload_dir = os.path.join(self.data_dir, "uploads")
        os.makedirs(self.package_dir, exist_ok=True)
        os.makedirs(self.upload_dir, exist_ok=True)
        self.seed = seed
        self.apps = {app["id"]: app for app in seed["apps"]}
        self.db = sqlite3.connect(os.path.join(self.data_dir, "state.sqlite3"), isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        columns = [row["name"] for row in self.db.execute("PRAGMA table_info(packages)")]
        if "fails_to_start" not in columns:  # a data directory of an older emulator
            self.db.execute("ALTER TABLE packages ADD COLUMN fails_to_start INTEGER NOT NULL DEFAULT 0")
        if "secrets" not in [row["name"] for row in self.db.execute("PRAGMA table_info(environments)")]:
            self.db.execute("ALTER TABLE environments ADD COLUMN secrets TEXT NOT NULL DEFAULT '{}'")
        key = self.db.execute("SELECT value FROM meta WHERE key = 'hmac_key'").fetchone()
        if key is None:
            self.db.execute("INSERT INTO meta (key, value) VALUES ('hmac_key', ?)", (secrets.token_hex(32),))
            self._load_environments()
            key = self.db.execute("SELECT value FROM meta WHERE key = 'hmac_key'").fetchone()
        if self.db.execute("SELECT value FROM meta WHERE key = 'clusters_seeded'").fetchone() is None:
            self._load_clusters()  # a new data directory, or one of an emulator before clusters
        self.hmac_key = bytes.fromhex(key["value"])
        self._load_branches()

    def close(self):
        self.db.close()

    # ------------------------------------------------------------------ branches
    def _load_branches(self):
        """Each app's branches: the seed's revisions (oldest first), then the commits added since (control API)."""
        self.branches = {app_id: {name: list(revs) for name, revs in app["branches"].items()} for app_id, app in self.apps.items()}
        self.added_commits = {}
        for row in self.db.execute("SELECT * FROM commits ORDER BY seq"):
            self.branches.setdefault(row["app_id"], {}).setdefault(row["branch"], []).append(row["revision"])
            self.added_commits[(row["app_id"], row["revision"])] = json.loads(row["meta"])

    def add_commit(self, app_id, branch, revision, meta):
        """A new head for a branch (made when it does not exist), kept across restarts until a reset."""
        self.db.execute("INSERT INTO commits (app_id, branch, revision, meta) VALUES (?, ?, ?, ?)",
                        (app_id, branch, revision, json.dumps(meta)))
        self.branches[app_id].setdefault(branch, []).append(revision)
        self.added_commits[(app_id, revision)] = meta

    def commit_meta(self, app_id, revision):
        return self.added_commits.get((app_id, revision))

    @property
    def settings(self):
        return self.seed["settings"]

    # ------------------------------------------------------------------ seed and reset
    def _load_environments(self):
        for app in self.seed["apps"]:
            for ns in app["namespaces"]:
                for env in ns["environments"]:
                    manifest = initial_manifest(app, ns, env)
                    self.db.execute(
                        "INSERT OR REPLACE INTO environments (app_id, namespace_id, env_id, manifest) VALUES (?, ?, ?, ?)",
                        (app["id"], ns["id"], env["id"], json.dumps(manifest)),
                    )

    def _load_clusters(self):
        """The seed's clusters and namespaces (those its apps' environments are in), with a random secret each."""
        from .cluster_api import seeded_platform  # pylint: disable=import-outside-toplevel

        self.db.execute("DELETE FROM clusters")
        self.db.execute("DELETE FROM namespaces")
        clusters, namespaces = seeded_platform(self.seed)
        for cluster in clusters:
            self.insert_cluster(cluster)
        for cluster_id, namespace in namespaces:
            self.insert_namespace(cluster_id, namespace, secrets.token_urlsafe(24))
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('clusters_seeded', '1')")

    def reset(self):
        """Back to the seed: no packages, no jobs, no added commits, environments as seeded."""
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("DELETE FROM packages")
        self.db.execute("DELETE FROM jobs")
        self.db.execute("DELETE FROM environments")
        self.db.execute("DELETE FROM commits")
        self.db.execute("DELETE FROM starts")
        self._load_environments()
        self._load_clusters()
        self.db.execute("COMMIT")
        self._load_branches()
        for folder in (self.package_dir, self.upload_dir):
            for name in os.listdir(folder):
                os.unlink(os.path.join(folder, name))

    # ------------------------------------------------------------------ packages
    def package_path(self, package_id):
        return os.path.join(self.package_dir, f"{package_id}.mda")

    def get_package(self, app_id, package_id):
        return self.db.execute("SELECT * FROM packages WHERE app_id = ? AND id = ?", (app_id, package_id)).fetchone()

    def list_packages(self, app_id, offset, limit):
        """A page of an app's packages in the order the list_order setting gives (shuffled: a fixed order per id)."""
        order = self.settings.get("list_order", "newest")
        offset = min(offset, 2 ** 62)
        if order == "shuffled":
            rows = self.db.execute("SELECT * FROM packages WHERE app_id = ?", (app_id,)).fetchall()
            rows.sort(key=lambda r: hashlib.sha256((self.hmac_key.hex() + r["id"]).encode()).hexdigest())
            return rows[offset:offset + limit]
        direction = "ASC" if order == "oldest" else "DESC"
        return self.db.execute(
            f"SELECT * FROM packages WHERE app_id = ? ORDER BY created_ts {direction}, seq {direction} LIMIT ? OFFSET ?",
            (app_id, limit, offset)
        ).fetchall()

    def insert_package(self, app_id, package_id, model_version, runtime_version, description, file_name, file_size, log,
                       created_ts=None, fails_to_start=False):
        now = time.time() if created_ts is None else created_ts
        seq = self.db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM packages").fetchone()[0]
        self.db.execute(
            "INSERT INTO packages (id, app_id, model_version, runtime_version, created_on, created_ts, description, file_name,"
            " file_size, expiry_date, build_log, seq, fails_to_start) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (package_id, app_id, model_version, runtime_version, iso(now), now, description, file_name, file_size,
             iso(now + 60 * 86400), log, seq, 1 if fails_to_start else 0),
        )

    def add_packages(self, app, count, version, branch="bulk", ago=0.0, step=0.001, uploaded=False):
        """Create `count` packages of an app at once (test data), oldest first, each with a small real .mda file; the
        newest was created `ago` seconds ago and each older one `step` seconds before the next."""
        ids = []
        now = time.time()
        self.db.execute("BEGIN IMMEDIATE")
        for index in range(count):
            package_id = str(uuid.uuid4())
            model_ver = f"{version}.{index}"
            path = self.package_path(package_id)
            mda.write_mda(path, model_ver, app["runtime_version"], app["name"])
            name = f"{branch}.sha256-{secrets.token_hex(8)}.mda" if uploaded else f"{branch}-{model_ver}.mda"
            self.insert_package(app["id"], package_id, model_ver, app["runtime_version"], None, name,
                                os.path.getsize(path), "Created as test data.\n",
                                created_ts=now - ago - (count - 1 - index) * step)
            ids.append(package_id)
        self.db.execute("COMMIT")
        return ids

    # ------------------------------------------------------------------ jobs
    def create_job(self, kind, app_id, params, seconds=None):
        now = time.time()
        if seconds is None:
            seconds = float(self.settings[SECONDS_SETTING.get(kind, f"{kind}_seconds")])
        job_id = str(uuid.uuid4())
        self.db.execute(
            "INSERT INTO jobs (id, kind, app_id, created_ts, due_ts, status, details, params) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
            (job_id, kind, app_id, now, now + seconds, DETAILS[kind], json.dumps(params)),
        )
        return job_id

    def job_row(self, job_id):
        return self.db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()

    def due_jobs(self):
        return self.db.execute("SELECT * FROM jobs WHERE status = 'pending' AND due_ts <= ? ORDER BY due_ts",
                               (time.time(),)).fetchall()

    def pending_deploy(self, app_id, namespace_id, env_id):
        """Whether a job that changes this environment (update, create, delete) is pending."""
        marks = ", ".join("?" * len(ENVIRONMENT_JOBS))
        for row in self.db.execute(f"SELECT params FROM jobs WHERE status = 'pending' AND kind IN ({marks}) AND app_id = ?",
                                   (*ENVIRONMENT_JOBS, app_id)):
            params = json.loads(row["params"])
            if params["namespace_id"] == namespace_id and params["env_id"] == env_id:
                return True
        return False

    # ------------------------------------------------------------------ clusters and namespaces
    def _next_seq(self, table):
        return self.db.execute(f"SELECT COALESCE(MAX(seq), 0) + 1 FROM {table}").fetchone()[0]

    def list_clusters(self):
        return [json.loads(r["manifest"]) for r in self.db.execute("SELECT manifest FROM clusters ORDER BY seq")]

    def get_cluster(self, cluster_id):
        row = self.db.execute("SELECT manifest FROM clusters WHERE id = ?", (cluster_id,)).fetchone()
        return json.loads(row["manifest"]) if row else None

    def insert_cluster(self, cluster):
        self.db.execute("INSERT INTO clusters (id, manifest, seq) VALUES (?, ?, ?)",
                        (cluster["clusterId"], json.dumps(cluster), self._next_seq("clusters")))

    def update_cluster(self, cluster):
        self.db.execute("UPDATE clusters SET manifest = ? WHERE id = ?", (json.dumps(cluster), cluster["clusterId"]))

    def delete_cluster(self, cluster_id):
        self.db.execute("DELETE FROM clusters WHERE id = ?", (cluster_id,))

    def list_namespaces(self, cluster_id):
        return [json.loads(r["manifest"]) for r in
                self.db.execute("SELECT manifest FROM namespaces WHERE cluster_id = ? ORDER BY seq", (cluster_id,))]

    def get_namespace(self, cluster_id, namespace_id):
        row = self.db.execute("SELECT manifest FROM namespaces WHERE cluster_id = ? AND id = ?",
                              (cluster_id, namespace_id)).fetchone()
        return json.loads(row["manifest"]) if row else None

    def namespace_by_name(self, cluster_id, name):
        """The id of the cluster's namespace of that name: where a new environment may be created."""
        for namespace in self.list_namespaces(str(cluster_id).lower()):
            if namespace["name"] == name:
                return namespace["namespaceId"]
        return None

    def namespace_exists(self, namespace_id):
        return self.db.execute("SELECT 1 FROM namespaces WHERE id = ?", (namespace_id,)).fetchone() is not None

    def insert_namespace(self, cluster_id, namespace, secret):
        self.db.execute("INSERT INTO namespaces (id, cluster_id, manifest, secret, seq) VALUES (?, ?, ?, ?, ?)",
                        (namespace["namespaceId"], cluster_id, json.dumps(namespace), secret, self._next_seq("namespaces")))

    def update_namespace(self, namespace, secret=None):
        if secret is None:
            self.db.execute("UPDATE namespaces SET manifest = ? WHERE id = ?", (json.dumps(namespace), namespace["namespaceId"]))
        else:
            self.db.execute("UPDATE namespaces SET manifest = ?, secret = ? WHERE id = ?",
                            (json.dumps(namespace), secret, namespace["namespaceId"]))

    def delete_namespace(self, namespace_id):
        self.db.execute("DELETE FROM namespaces WHERE id = ?", (namespace_id,))

    def namespace_secrets(self):
        """Every namespace's cluster and secret, by id (for the control API's fingerprints only)."""
        return {r["id"]: (r["cluster_id"], r["secret"]) for r in self.db.execute("SELECT id, cluster_id, secret FROM namespaces")}

    def namespace_environments(self, namespace_id):
        """(app id, environment id, environment name) of every environment in the namespace."""
        rows = self.db.execute("SELECT app_id, env_id, manifest FROM environments WHERE namespace_id = ? ORDER BY app_id, env_id",
                               (namespace_id,))
        return [(r["app_id"], r["env_id"], json.loads(r["manifest"])["environment"]["properties"].get("name", ""))
                for r in rows]

    # ------------------------------------------------------------------ environments
    def get_manifest(self, app_id, namespace_id, env_id):
        row = self.db.execute(
            "SELECT manifest FROM environments WHERE app_id = ? AND namespace_id = ? AND env_id = ?", (app_id, namespace_id, env_id)
        ).fetchone()
        return json.loads(row["manifest"]) if row else None

    def namespace_taken(self, namespace_id, env_id):
        """Whether any app has an environment with this id in the namespace (an environment id names the app's
        resources in the cluster's namespace, so two apps cannot share one there)."""
        return self.db.execute("SELECT 1 FROM environments WHERE namespace_id = ? AND env_id = ?",
                               (namespace_id, env_id)).fetchone() is not None

    def insert_environment(self, app_id, namespace_id, manifest, secrets_):
        self.db.execute("INSERT INTO environments (app_id, namespace_id, env_id, manifest, secrets) VALUES (?, ?, ?, ?, ?)",
                        (app_id, namespace_id, manifest["environment"]["id"], json.dumps(manifest), json.dumps(secrets_)))

    def update_environment(self, app_id, namespace_id, env_id, manifest, secrets_=None):
        if secrets_ is None:
            self.db.execute("UPDATE environments SET manifest = ? WHERE app_id = ? AND namespace_id = ? AND env_id = ?",
                            (json.dumps(manifest), app_id, namespace_id, env_id))
        else:
            self.db.execute("UPDATE environments SET manifest = ?, secrets = ? WHERE app_id = ? AND namespace_id = ? AND env_id = ?",
                            (json.dumps(manifest), json.dumps(secrets_), app_id, namespace_id, env_id))

    def delete_environment(self, app_id, namespace_id, env_id):
        for table in ("environments", "starts"):
            self.db.execute(f"DELETE FROM {table} WHERE app_id = ? AND namespace_id = ? AND env_id = ?",
                            (app_id, namespace_id, env_id))

    def get_secrets(self, app_id, namespace_id, env_id):
        row = self.db.execute("SELECT secrets FROM environments WHERE app_id = ? AND namespace_id = ? AND env_id = ?",
                              (app_id, namespace_id, env_id)).fetchone()
        return json.loads(row["secrets"]) if row else {}

    def start_app(self, app_id, namespace_id, env_id, package_id, instances, started=None):
        """After a change of package or instances: the app starts (Processing) for start_seconds, then is Ready, or
        Failed when its package fails to start. With no instances there is nothing to start."""
        if instances <= 0:
            self.db.execute("DELETE FROM starts WHERE app_id = ? AND namespace_id = ? AND env_id = ?", (app_id, namespace_id, env_id))
            return
        row = self.get_package(app_id, package_id)
        outcome = "Failed" if row is not None and row["fails_to_start"] else "Ready"
        self.db.execute("INSERT OR REPLACE INTO starts (app_id, namespace_id, env_id, package_id, due_ts, outcome) VALUES "
                        "(?, ?, ?, ?, ?, ?)", (app_id, namespace_id, env_id, package_id,
                                               (started or time.time()) + float(self.settings.get("start_seconds", 0)),
                                               outcome))

    def container_state(self, app_id, namespace_id, env_id):
        """Processing while a deploy job runs or the app starts, then the start's outcome (Ready or Failed)."""
        if self.pending_deploy(app_id, namespace_id, env_id):
            return "Processing"
        row = self.db.execute("SELECT due_ts, outcome FROM starts WHERE app_id = ? AND namespace_id = ? AND env_id = ?",
                              (app_id, namespace_id, env_id)).fetchone()
        if row is None:
            return "Ready"
        return "Processing" if time.time() < row["due_ts"] else row["outcome"]

    def environment_states(self):
        """Every environment: ids, the package it runs, its state now, and when its last start ended or ends."""
        starts = {(r["app_id"], r["namespace_id"], r["env_id"]): r["due_ts"] for r in self.db.execute("SELECT * FROM starts")}
        out = []
        for row in self.db.execute("SELECT * FROM environments ORDER BY app_id, namespace_id, env_id"):
            key = (row["app_id"], row["namespace_id"], row["env_id"])
            manifest = json.loads(row["manifest"])["environment"]
            fingerprints = {name: hashlib.sha256(value.encode()).hexdigest() for name, value in json.loads(row["secrets"]).items()}
            out.append({"appId": key[0], "namespaceId": key[1], "environmentId": key[2],
                        "packageId": manifest["deployment"].get("packageId"), "state": self.container_state(*key),
                        "settledAt": starts.get(key), "instances": manifest["container"].get("instances"),
                        "secrets": fingerprints})
        return out

    def find_environment(self, env_id):
        """(app id, namespace id, manifest) of the first environment with this id, or None."""
        row = self.db.execute("SELECT app_id, namespace_id, manifest FROM environments WHERE env_id = ? ORDER BY app_id, namespace_id",
                              (env_id,)).fetchone()
        return (row["app_id"], row["namespace_id"], json.loads(row["manifest"])) if row else None

    def list_manifests(self, app_id, offset, limit):
        """A page of an app's environment manifests, in a fixed order (namespace, then environment id)."""
        rows = self.db.execute("SELECT manifest FROM environments WHERE app_id = ? ORDER BY namespace_id, env_id LIMIT ? OFFSET ?",
                               (app_id, limit, min(offset, 2 ** 62))).fetchall()
        return [json.loads(row["manifest"]) for row in rows]


def resolve_revision(vcs, revisions, revision):
    """The full revision a request names: exact, or for git a unique prefix of at least 7 characters."""
    if revision in revisions:
        return revision
    if vcs == "git" and len(revision) >= 7:
        matches = [r for r in revisions if r.startswith(revision.lower())]
        if len(matches) == 1:
            return matches[0]
    return None


def initial_manifest(app, ns, env):
    """An environment manifest in the shape GET returns (Deploy API 4.13 getEnvironmentManifest)."""
    resources = {"cpu": "1", "memory": "0.512"}
    return {
        "manifestVersion": "2.0.0",
        "environment": {
            "id": env["id"],
            "properties": {"name": env.get("name", env["id"]), "production": env.get("production", False),
                           "defaultStudioTarget": False, "secretsStoreEnabled": False,
                           "environmentPurpose": env.get("purpose", "Test")},
            "deployment": {"appUrl": env["app_url"], "packageId": env["package_id"] or "",
                           "constants": [{"name": name, "value": value} for name, value in app["constants"].items()],
                           "scheduledEvents": [{"name": name, "enabled": False} for name in app["scheduled_events"]],
                           "appLogLevels": []},
            "container": {"state": "Ready", "instances": env["instances"], "lastRunningInstanceCount": env["instances"],
                          "coreResources": {"limits": dict(resources), "requests": dict(resources)}},
            "network": {"outgoingConnectionCertificate": []},
            "runtime": {"runtimeVersion": app["runtime_version"], "environmentVariables": [], "customRuntimeSettings": []},
            "provider": {"clusterId": ns["cluster_id"], "namespace": ns["name"], "namespaceId": ns["id"]},
            "annotations": [],
            "services": [],
            "runtimeMetricsConfiguration": {"mode": "default"},
            "deploymentStrategy": {"runtimeDeploymentStrategyType": "Default"},
        },
    }


def take_secrets(manifest, current):
    """Take the runtime secrets out of a written manifest (they are never stored in it, nor shown by GET); returns the
    environment's secrets after the write: each given one set, or cleared by LS0t, the others as they were."""
    runtime = manifest["environment"].get("runtime")
    out = dict(current)
    if not isinstance(runtime, dict):
        return out
    for name in SECRETS:
        if name in runtime:
            value = runtime.pop(name)
            if value == CLEAR_SECRET:
                out.pop(name, None)
            else:
                out[name] = value
    return out


def complete_model(env, app):
    """Every constant and scheduled event the app's model defines is listed, in the model's order: a defined one
    missing from the list gets its default (constants) or is off (events); the values given are kept."""
    deployment = env["deployment"]
    given = {c["name"]: c["value"] for c in deployment.get("constants") or []}
    deployment["constants"] = [{"name": n, "value": given.get(n, default)} for n, default in app["constants"].items()]
    enabled = {e["name"]: e["enabled"] for e in deployment.get("scheduledEvents") or []}
    deployment["scheduledEvents"] = [{"name": n, "enabled": enabled.get(n, False)} for n in app["scheduled_events"]]
    deployment.setdefault("appLogLevels", [])
    return env


def new_manifest(body, app, namespace_id):
    """A created environment's manifest, in the shape GET returns: the POSTed manifest, the model completed, the
    non-editable fields set (purpose Test, state Ready, the last running instance count, the namespace's id)."""
    manifest = copy.deepcopy(body)
    env = manifest["environment"]
    env["properties"]["environmentPurpose"] = "Test"
    container = env["container"]
    container["state"] = "Ready"
    container["lastRunningInstanceCount"] = int(container["instances"])
    env["provider"]["namespaceId"] = namespace_id
    env.setdefault("network", {"outgoingConnectionCertificate": []})
    env.setdefault("runtime", {}).setdefault("runtimeVersion", app["runtime_version"])
    for key in ("environmentVariables", "customRuntimeSettings"):
        env["runtime"].setdefault(key, [])
    env.setdefault("annotations", [])
    env.setdefault("runtimeMetricsConfiguration", {"mode": "default"})
    env.setdefault("deploymentStrategy", {"runtimeDeploymentStrategyType": "Default"})
    complete_model(env, app)
    return manifest


def merge_manifest(stored, new, app=None):
    """Apply a PUT manifest to the stored one; non-editable fields keep their stored values."""
    merged = copy.deepcopy(new)
    env, old_env = merged["environment"], stored["environment"]
    for path in NON_EDITABLE:
        if len(path) == 1:
            env[path[0]] = copy.deepcopy(old_env.get(path[0]))
        else:
            section = env.setdefault(path[0], {})
            if path[1] in old_env.get(path[0], {}):
                section[path[1]] = old_env[path[0]][path[1]]
            else:
                section.pop(path[1], None)
    container = env["container"]
    instances = int(container.get("instances", 0))
    container["state"] = "Ready"
    if instances > 0:
        container["lastRunningInstanceCount"] = instances
    if app is not None:
        complete_model(env, app)
    return merged

"""The job runner: carries out a job's effect when its time has come (a build makes a package, a deploy changes the
manifest), on a ticker and whenever a job is read. Jobs carry the wall-clock time they are due, so a job started
before a crash finishes when the emulator is back on the same data directory."""

import asyncio
import json
import os
import secrets
import time
import uuid

from . import mda
from . import cluster_api
from .store import merge_manifest, new_manifest, resolve_revision, take_secrets


class JobRunner:
    """Finishes the store's jobs."""

    def __init__(self, store):
        self.store = store
        self._ticker = None

    async def start(self, _app):
        self._ticker = asyncio.create_task(self._tick())

    async def stop(self, _app):
        if self._ticker:
            self._ticker.cancel()

    async def _tick(self):
        while True:
            self.finish_due_jobs()
            await asyncio.sleep(0.1)

    def get(self, job_id):
        """A job's row, finished first when its time has come (so a poll never sees a due job as running)."""
        row = self.store.job_row(job_id)
        if row is not None and row["status"] == "pending" and row["due_ts"] <= time.time():
            self.finish_job(row)
            row = self.store.job_row(job_id)
        return row

    def finish_due_jobs(self):
        """Finish every job whose time has come; returns how many finished."""
        rows = self.store.due_jobs()
        for row in rows:
            self.finish_job(row)
        return len(rows)

    def finish_job(self, row):
        """Carry out a due job's effect and record its outcome, in one transaction."""
        params = json.loads(row["params"])
        app = self.store.apps.get(row["app_id"])
        handler = getattr(self, f"_finish_{row['kind']}")
        self.store.db.execute("BEGIN IMMEDIATE")
        try:
            current = self.store.db.execute("SELECT status FROM jobs WHERE id = ?", (row["id"],)).fetchone()
            if current is None or current["status"] != "pending":
                self.store.db.execute("COMMIT")
                return
            status, package_id, error, log = handler(row, app, params)
            self.store.db.execute(
                "UPDATE jobs SET status = ?, package_id = ?, error = ?, log = ? WHERE id = ?",
                (status, package_id, json.dumps(error) if error else None, log, row["id"]),
            )
            self.store.db.execute("COMMIT")
        except BaseException:
            self.store.db.execute("ROLLBACK")
            raise

    def _finish_build(self, row, app, params):
        branch, revision = params["branch"], params["revision"]
        vcs = app["vcs"]
        revisions = self.store.branches[app["id"]].get(branch)
        if revisions is None:
            detail = ""
            if vcs == "svn" and branch.replace(" ", "").lower() == "mainline":
                detail = "For an SVN app the main line is the branch 'trunk': build with branch 'trunk' instead of 'Main line'."
            log = mda.build_log(app["id"], vcs, branch, revision, "unknown-branch", app["runtime_version"], detail)
            message = f"Branch '{branch}' was not found in the repository of app {app['id']}."
            if detail:
                message += " " + detail
            return "failed", None, {"code": 400, "message": message}, log
        full = resolve_revision(vcs, revisions, revision)
        if full is None:
            log = mda.build_log(app["id"], vcs, branch, revision, "unknown-revision", app["runtime_version"])
            return "failed", None, {"code": 400, "message": f"Revision '{revision}' was not found on branch '{branch}'."}, log
        if full in app["failing_revisions"]:
            log = mda.build_log(app["id"], vcs, branch, full, "compile-error", app["runtime_version"])
            return "failed", None, {"message": "Build failed: the project contains 3 errors. See the build log for details."}, log
        log = mda.build_log(app["id"], vcs, branch, full, "ok", app["runtime_version"])
        package_id = str(uuid.uuid4())
        if self.store.settings.get("naming") == "opaque":  # names that follow no documented format
            model_ver = f"{params.get('version') or '1.0.0'}.{secrets.token_hex(5)}"
            file_name = f"{uuid.uuid4()}.mda"
        else:
            model_ver = mda.model_version(vcs, params.get("version"), full)
            file_name = mda.file_name_for(vcs, branch, model_ver)
        path = self.store.package_path(package_id)
        fails = full in app["failing_start_revisions"]
        mda.write_mda(path, model_ver, app["runtime_version"], app["name"], fails_to_start=fails)
        self.store.insert_package(app["id"], package_id, model_ver, app["runtime_version"], params.get("description"),
                                  file_name, os.path.getsize(path), log, fails_to_start=fails)
        return "finished", package_id, None, log

    def _finish_upload(self, row, app, params):
        tmp = params["tmp_path"]
        if not os.path.exists(tmp):
            return "failed", None, {"code": 500, "message": "The uploaded file was lost before it could be processed."}, None
        if not mda.is_zip(tmp):
            os.unlink(tmp)
            return "failed", None, {"code": 400, "message": "The uploaded file is not a deployment package: an .mda file is a zip archive."}, None
        meta = mda.read_mda_metadata(tmp)
        package_id = str(uuid.uuid4())
        path = self.store.package_path(package_id)
        size = os.path.getsize(tmp)
        os.replace(tmp, path)
        log = f"Deployment package uploaded: {params['file_name']} ({size} bytes)\n"
        self.store.insert_package(app["id"], package_id, meta.get("ModelVersion", "1.0.0.0"),
                                  meta.get("RuntimeVersion", app["runtime_version"]), params.get("description"),
                                  params["file_name"], size, log, fails_to_start=meta.get("FailsToStart") == "True")
        return "finished", package_id, None, None

    def _finish_delete(self, row, app, params):
        package_id = params["package_id"]
        self.store.db.execute("DELETE FROM packages WHERE id = ? AND app_id = ?", (package_id, app["id"]))
        try:
            os.unlink(self.store.package_path(package_id))
        except FileNotFoundError:
            pass
        return "finished", None, None, None

    def _package_problem(self, app, package_id):
        if self.store.get_package(app["id"], package_id) is None:
            return {"code": 400, "message": f"Package {package_id} is not a deployment package of app {app['id']}."}
        return None

    def _finish_deploy(self, row, app, params):
        new = params["manifest"]
        package_id = new["environment"]["deployment"]["packageId"]
        ns, env_id = params["namespace_id"], params["env_id"]
        stored = self.store.get_manifest(app["id"], ns, env_id)
        if stored is None:
            return "failed", None, {"code": 404, "message": f"Environment {env_id} could not be found"}, None
        if params.get("fail"):
            return "failed", None, {"code": 500, "message": params["fail"]}, None
        if package_id or stored["environment"]["deployment"].get("packageId"):
            problem = self._package_problem(app, package_id)
            if problem:
                return "failed", None, problem, None
        secrets_ = take_secrets(new, self.store.get_secrets(app["id"], ns, env_id))
        merged = merge_manifest(stored, new, app)
        self.store.update_environment(app["id"], ns, env_id, merged, secrets_)
        old, now = stored["environment"], merged["environment"]
        instances = int(now["container"].get("instances") or 0)
        # a new package, another instance count, or new settings for the app restart it
        changed = (old["deployment"].get("packageId") != package_id
                   or int(old["container"].get("instances") or 0) != instances
                   or any(old.get(key) != now.get(key) for key in ("deployment", "runtime"))
                   or old["container"].get("coreResources") != now["container"].get("coreResources"))
        if changed:
            # the app starts when the job ends: at its due time, whenever the runner gets to it
            self.store.start_app(app["id"], ns, env_id, package_id, instances, started=row["due_ts"])
        return "finished", None, None, None

    def _finish_create_env(self, row, app, params):
        body, ns, env_id = params["manifest"], params["namespace_id"], params["env_id"]
        if self.store.namespace_taken(ns, env_id):
            return "failed", None, {"code": 400, "message": f"An environment with id {env_id} already exists in namespace "
                                                            f"{body['environment']['provider']['namespace']}: environment "
                                                            "ids must be unique; choose another id."}, None
        package_id = body["environment"]["deployment"]["packageId"]
        problem = self._package_problem(app, package_id)
        if problem:
            return "failed", None, problem, None
        secrets_ = take_secrets(body, {})
        manifest = new_manifest(body, app, ns)
        self.store.insert_environment(app["id"], ns, manifest, secrets_)
        self.store.start_app(app["id"], ns, env_id, package_id, int(manifest["environment"]["container"]["instances"]),
                             started=row["due_ts"])
        return "finished", None, None, None

    def _finish_delete_env(self, row, app, params):
        self.store.delete_environment(app["id"], params["namespace_id"], params["env_id"])
        return "finished", None, None, None

    # ------------------------------------------------------------------ clusters and namespaces
    def _finish_create_cluster(self, _row, _app, params):
        cluster = cluster_api.new_cluster(params["manifest"])
        if self.store.get_cluster(cluster["clusterId"]) is not None:
            return "failed", None, {"code": 400, "message": f"A cluster with id {cluster['clusterId']} already exists: cluster "
                                                            "ids must be unique; choose another id."}, None
        self.store.insert_cluster(cluster)
        return "finished", None, None, None

    def _finish_update_cluster(self, _row, _app, params):
        stored = self.store.get_cluster(params["cluster_id"])
        if stored is None:
            return "failed", None, {"code": 404, "message": f"Cluster {params['cluster_id']} could not be found"}, None
        self.store.update_cluster(cluster_api.updated_cluster(stored, params["manifest"]))
        return "finished", None, None, None

    def _finish_delete_cluster(self, _row, _app, params):
        left = self.store.list_namespaces(params["cluster_id"])
        if left:
            names = ", ".join(n["name"] for n in left)
            return "failed", None, {"code": 400, "message": f"The cluster still has namespaces ({names}): delete them first."}, None
        self.store.delete_cluster(params["cluster_id"])
        return "finished", None, None, None

    def _finish_create_namespace(self, _row, _app, params):
        body, cluster_id = params["manifest"], params["cluster_id"]
        namespace = cluster_api.new_namespace(body)
        if self.store.get_cluster(cluster_id) is None:
            return "failed", None, {"code": 404, "message": f"Cluster {cluster_id} could not be found"}, None
        if self.store.namespace_exists(namespace["namespaceId"]):
            return "failed", None, {"code": 400, "message": f"A namespace with id {namespace['namespaceId']} already exists: "
                                                            "namespace ids must be unique; choose another id."}, None
        if self.store.namespace_by_name(cluster_id, namespace["name"]) is not None:
            return "failed", None, {"code": 400, "message": f"The cluster already has a namespace named {namespace['name']}."}, None
        self.store.insert_namespace(cluster_id, namespace, body["namespace"]["secret"])
        return "finished", None, None, None

    def _finish_update_namespace(self, _row, _app, params):
        stored = self.store.get_namespace(params["cluster_id"], params["namespace_id"])
        if stored is None:
            return "failed", None, {"code": 404, "message": f"Namespace {params['namespace_id']} could not be found"}, None
        given = params["manifest"]["namespace"]["secret"]
        self.store.update_namespace(cluster_api.updated_namespace(stored, params["manifest"]),
                                    None if given == cluster_api.SECRET_SHOWN else given)
        return "finished", None, None, None

    def _finish_delete_namespace(self, _row, _app, params):
        left = self.store.namespace_environments(params["namespace_id"])
        if left:
            names = ", ".join(env_id for _app_id, env_id, _name in left)
            return "failed", None, {"code": 400, "message": f"The namespace still has environments ({names}): delete them "
                                                            "first."}, None
        self.store.delete_namespace(params["namespace_id"])
        return "finished", None, None, None

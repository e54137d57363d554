"""Deploy API routes the collection uses: an app's environments (list), an environment's manifest (GET and PUT,
namespaced)."""

from aiohttp import web

from . import seed as seedmod
from .common import API, APPS, ApiError, _int_query, validation_error

ENVIRONMENTS = API + "/apps/{appId}/environments"
ENVIRONMENT = API + "/apps/{appId}/namespaces/{namespaceId}/environments/{environmentId}"


APP_PAGE = APPS + "{environmentId}/"


def add_routes(router, emu):
    router.add_get(ENVIRONMENTS, emu.list_environments)
    router.add_get(APP_PAGE, emu.app_page)
    router.add_get(ENVIRONMENT, emu.get_environment)
    router.add_put(ENVIRONMENT, emu.put_environment)


class DeployApi:
    """The Deploy API's handlers; mixed into Emulator."""

    def _environment(self, request):
        app = self.app_or_404(request)
        ns, env = request.match_info["namespaceId"], request.match_info["environmentId"]
        manifest = self.store.get_manifest(app["id"], ns, env)
        if manifest is None:
            message = f"Environment {env} could not be found in namespace {ns}"
            raise ApiError(404, message, [("Validation", message)])
        return app, ns, env, manifest

    def _shown(self, app_id, manifest, request=None):
        """A manifest as GET shows it: the container's state now (Processing while a deploy job runs or the app starts,
        then Ready or Failed); an appUrl given in the seed as a path (/_apps/<id>/) made absolute on this server."""
        env = manifest["environment"]
        env["container"]["state"] = self.store.container_state(app_id, env["provider"]["namespaceId"], env["id"])
        url = env["deployment"].get("appUrl") or ""
        if request is not None and url.startswith("/_apps/"):
            env["deployment"]["appUrl"] = f"{request.scheme}://{request.host}{url}"
        return manifest

    async def app_page(self, request):
        """The environment's app, as its users reach it: 200 with the package it runs when it is Ready, has instances
        and is healthy (see POST /_emulator/app-health); else 503."""
        found = self.store.find_environment(request.match_info["environmentId"])
        if found is None:
            return web.Response(status=404, text="No such app.\n")
        app_id, ns, manifest = found
        env = manifest["environment"]
        state = self.store.container_state(app_id, ns, env["id"])
        package_id = env["deployment"].get("packageId") or None
        row = self.store.get_package(app_id, package_id) if package_id else None
        body = {"environment": env["id"], "packageId": package_id, "modelVersion": row["model_version"] if row else None,
                "state": state}
        if state != "Ready" or not env["container"].get("instances") or not package_id or env["id"] in self.unhealthy:
            reason = "unhealthy" if env["id"] in self.unhealthy else "not running"
            return web.json_response(dict(body, status=reason), status=503)
        return web.json_response(dict(body, status="running"))

    async def list_environments(self, request):
        """The app's environment manifests, a page at a time (offset, limit: 20 by default, at most max_page_size).
        The answer is {environments: [...]} with no paging block, as the spec gives it: a client pages until a page
        comes back empty."""
        self.authorize(request, any_of=[seedmod.SCOPE_DEPLOY_READ, seedmod.SCOPE_DEPLOY_WRITE])
        offset = _int_query(request, "offset", 0, 0)
        limit = min(_int_query(request, "limit", 20, 1, 100), int(self.store.settings["max_page_size"]))
        app = self.app_or_404(request)
        manifests = self.store.list_manifests(app["id"], offset, limit)
        return web.json_response({"environments": [self._shown(app["id"], m, request) for m in manifests]})

    async def get_environment(self, request):
        self.authorize(request, any_of=[seedmod.SCOPE_DEPLOY_READ, seedmod.SCOPE_DEPLOY_WRITE])
        app, _ns, _env, manifest = self._environment(request)
        return web.json_response(self._shown(app["id"], manifest, request))

    async def put_environment(self, request):
        self.authorize(request, all_of=[seedmod.SCOPE_DEPLOY_WRITE])
        app, ns, env, _stored = self._environment(request)
        if request.content_type != "application/json":
            raise validation_error([("Content-Type", "must be application/json")])
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise validation_error([("body", "must be a JSON environment manifest")]) from None
        problems = check_manifest(body, env)
        if problems:
            raise validation_error(problems)
        job_id = self.store.create_job("deploy", app["id"], {"namespace_id": ns, "env_id": env, "manifest": body})
        return self.job_accepted(request, job_id)


def check_manifest(body, env_id):
    """Shape checks of a PUT manifest; a list of (field, reason)."""
    if not isinstance(body, dict):
        return [("body", "must be a JSON environment manifest")]
    problems = []
    if not isinstance(body.get("manifestVersion"), str):
        problems.append(("manifestVersion", "is required, for example 2.0.0"))
    env = body.get("environment")
    if not isinstance(env, dict):
        return problems + [("environment", "is required: the environment manifest")]
    if env.get("id") != env_id:
        problems.append(("environment.id", f"must be the environment of the path, {env_id!r}"))
    deployment = env.get("deployment")
    if not isinstance(deployment, dict):
        problems.append(("environment.deployment", "is required, with appUrl and packageId"))
    else:
        for key in ("appUrl", "packageId"):
            if not isinstance(deployment.get(key), str) or not deployment.get(key):
                problems.append((f"environment.deployment.{key}", "is required: a non-empty string"))
    container = env.get("container")
    instances = container.get("instances") if isinstance(container, dict) else None
    if not isinstance(instances, int) or isinstance(instances, bool) or not 0 <= instances <= 10:
        problems.append(("environment.container.instances", "is required: a whole number from 0 to 10"))
    for key in ("properties", "provider"):
        if not isinstance(env.get(key), dict):
            problems.append((f"environment.{key}", "is required"))
    if not isinstance(env.get("services", []), list):
        problems.append(("environment.services", "must be a list"))
    return problems

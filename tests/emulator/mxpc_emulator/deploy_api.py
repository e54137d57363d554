"""Deploy API routes the collection uses: an app's environments (list, create), an environment's manifest (GET, PUT,
DELETE, namespaced)."""

import asyncio
import json

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
    router.add_post(ENVIRONMENTS, emu.create_environment)
    router.add_delete(ENVIRONMENT, emu.delete_environment)


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
        if env["id"] in self.trickling:
            return await self._trickle(request, json.dumps(dict(body, status="running")))
        if state != "Ready" or not env["container"].get("instances") or not package_id or env["id"] in self.unhealthy:
            reason = "unhealthy" if env["id"] in self.unhealthy else "not running"
            return web.json_response(dict(body, status=reason), status=503)
        return web.json_response(dict(body, status="running"))

    @staticmethod
    async def _trickle(request, text, limit=600):
        """200, and the body a byte a second (at most `limit` seconds): a server that holds a client that waits for
        the whole answer."""
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for char in text[:limit]:
            await response.write(char.encode())
            await asyncio.sleep(1)
        await response.write_eof()
        return response

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
        app, ns, env, manifest = self._environment(request)
        response = web.json_response(self._shown(app["id"], manifest, request))
        self.after_read(app["id"], ns, env)
        return response

    def after_read(self, app_id, ns, env_id):
        """Carry out a concurrent edit (POST /_emulator/environment-edits) whose read count this read completes."""
        for edit in list(self.edits):
            if (edit["appId"], edit["namespaceId"], edit["environmentId"]) != (app_id, ns, env_id):
                continue
            edit["afterReads"] -= 1
            if edit["afterReads"] > 0:
                continue
            self.edits.remove(edit)
            stored = self.store.get_manifest(app_id, ns, env_id)
            if stored is None:
                continue
            for path, value in edit["set"].items():
                target = stored["environment"]
                keys = path.split(".")
                for key in keys[:-1]:
                    target = target.setdefault(key, {})
                target[keys[-1]] = value
            self.store.update_environment(app_id, ns, env_id, stored)

    async def _manifest_body(self, request):
        if request.content_type != "application/json":
            raise validation_error([("Content-Type", "must be application/json")])
        try:
            return await request.json()
        except (ValueError, UnicodeDecodeError):
            raise validation_error([("body", "must be a JSON environment manifest")]) from None

    async def put_environment(self, request):
        self.authorize(request, all_of=[seedmod.SCOPE_DEPLOY_WRITE])
        app, ns, env, _stored = self._environment(request)
        body = await self._manifest_body(request)
        problems = check_manifest(body, env, app)
        if problems:
            raise validation_error(problems)
        params, seconds = {"namespace_id": ns, "env_id": env, "manifest": body}, None
        fault = self.take_deploy_fault(env, _stored, body)
        if fault and fault["effect"] == "fail":
            params["fail"] = "The environment could not be updated: the app's pods did not start (injected fault)."
        elif fault:
            seconds = fault["seconds"]
        job_id = self.store.create_job("deploy", app["id"], params, seconds=seconds)
        return self.job_accepted(request, job_id)

    def take_deploy_fault(self, env_id, stored, body):
        """The deploy fault (POST /_emulator/deploy-faults) this update meets, counted down; None for most."""
        was = int(stored["environment"]["container"].get("instances") or 0)
        now = int(((body.get("environment") or {}).get("container") or {}).get("instances") or 0)
        for fault in list(self.deploy_faults):
            if fault["environmentId"] != env_id or (fault["step"] == "start" and not (was == 0 and now > 0)):
                continue
            fault["count"] -= 1
            if fault["count"] <= 0:
                self.deploy_faults.remove(fault)
            return fault
        return None

    async def create_environment(self, request):
        """POST a new environment's manifest: accepted when it is valid and names a namespace of a cluster; the job
        creates it, or fails when the namespace already has an environment with that id (the ids are the client's to
        choose, and a duplicate fails the job, as the API's documentation says)."""
        self.authorize(request, all_of=[seedmod.SCOPE_DEPLOY_WRITE])
        app = self.app_or_404(request)
        body = await self._manifest_body(request)
        problems = check_manifest(body, None, app)
        namespace_id = None
        if not problems:
            provider = body["environment"]["provider"]
            namespace_id = self.store.namespace_by_name(provider["clusterId"], provider["namespace"])
            if namespace_id is None:
                problems.append(("environment.provider.namespace", f"cluster {provider['clusterId']} has no namespace "
                                                                   f"named {provider['namespace']!r}"))
        if problems:
            raise validation_error(problems)
        job_id = self.store.create_job("create_env", app["id"], {"namespace_id": namespace_id, "env_id": body["environment"]["id"],
                                                                 "manifest": body})
        return self.job_accepted(request, job_id)

    async def delete_environment(self, request):
        self.authorize(request, all_of=[seedmod.SCOPE_DEPLOY_WRITE])
        app, ns, env, _stored = self._environment(request)
        job_id = self.store.create_job("delete_env", app["id"], {"namespace_id": ns, "env_id": env})
        return self.job_accepted(request, job_id)


LOG_LEVELS = ("CRITICAL", "NONE", "DEBUG", "TRACE", "INFO", "ERROR")
ANNOTATION_TYPES = ("Pod", "Service", "Ingress")
STRATEGY_TYPES = ("Reduced App Downtime", "Default")
SERVICE_PLANS = ("OnDemand", "Dedicated")
# the spec's enum holds the backslashes literally ('{type: \"database\"}' in its YAML); both spellings are taken
SERVICE_CONFIGS = ('{type: "database"}', '{type: "storage"}', '{type: \\"database\\"}', '{type: \\"storage\\"}')
STATES = ("Ready", "Processing", "Failed", "Unknown")
PURPOSES = seedmod.PURPOSES
METRICS_MODES = ("default", "native", "compatibility")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _items(problems, where, value, fields, required=("name",)):
    """Check a list of objects: each field's type (a type, or a tuple of allowed values), `required` present."""
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append((where, "must be a list"))
        return []
    good = []
    for index, item in enumerate(value):
        here = f"{where}[{index}]"
        if not isinstance(item, dict):
            problems.append((here, "must be an object"))
            continue
        bad = False
        for key, kind in fields.items():
            if key not in item:
                if key in required:
                    problems.append((f"{here}.{key}", "is required"))
                    bad = True
                continue
            ok = item[key] in kind if isinstance(kind, tuple) else isinstance(item[key], kind) and not (
                kind is not bool and isinstance(item[key], bool))
            if not ok:
                what = "one of " + ", ".join(kind) if isinstance(kind, tuple) else {str: "a string", bool: "true or false"}[kind]
                problems.append((f"{here}.{key}", f"must be {what}"))
                bad = True
        if not bad:
            good.append(item)
    return good


def check_manifest(body, env_id=None, app=None):
    """A written manifest (PUT, or POST when env_id is None) against the Deploy API 4.13 write schema, for what the
    emulator stores; with the app, the constants and scheduled events named must be ones its model defines. A list
    of (field, reason)."""
    if not isinstance(body, dict):
        return [("body", "must be a JSON environment manifest")]
    problems = []
    if not isinstance(body.get("manifestVersion"), str):
        problems.append(("manifestVersion", "is required, for example 2.0.0"))
    env = body.get("environment")
    if not isinstance(env, dict):
        return problems + [("environment", "is required: the environment manifest")]
    if env_id is not None and env.get("id") != env_id:
        problems.append(("environment.id", f"must be the environment of the path, {env_id!r}"))
    elif not isinstance(env.get("id"), str) or not 1 <= len(env["id"]) <= 32:
        problems.append(("environment.id", "is required: the environment's id, 1 to 32 characters"))
    props = env.get("properties")
    if not isinstance(props, dict):
        problems.append(("environment.properties", "is required, with name, production, defaultStudioTarget and "
                                                   "secretsStoreEnabled"))
    else:
        if not isinstance(props.get("name"), str):
            problems.append(("environment.properties.name", "is required: a string"))
        for key in ("production", "defaultStudioTarget", "secretsStoreEnabled"):
            if not isinstance(props.get(key), bool):
                problems.append((f"environment.properties.{key}", "is required: true or false"))
        if "OverwriteProductTypePCLM" in props and not isinstance(props["OverwriteProductTypePCLM"], str):
            problems.append(("environment.properties.OverwriteProductTypePCLM", "must be a string"))
        if "environmentPurpose" in props and props["environmentPurpose"] not in PURPOSES:
            # non-editable: ignored on write, but checked like the rest
            problems.append(("environment.properties.environmentPurpose", "must be one of " + ", ".join(PURPOSES)))
    deployment = env.get("deployment")
    constants = events = []
    if not isinstance(deployment, dict):
        problems.append(("environment.deployment", "is required, with appUrl and packageId"))
    else:
        if not isinstance(deployment.get("appUrl"), str) or not deployment["appUrl"]:
            problems.append(("environment.deployment.appUrl", "is required: a non-empty string"))
        package_id = deployment.get("packageId")
        if not isinstance(package_id, str) or (env_id is None and not package_id):
            # an environment that runs no package yet shows packageId "", and may be written back so
            problems.append(("environment.deployment.packageId", "is required: the id of a deployment package of the app"))
        where = "environment.deployment."
        constants = _items(problems, where + "constants", deployment.get("constants"), {"name": str, "value": str})
        events = _items(problems, where + "scheduledEvents", deployment.get("scheduledEvents"), {"name": str, "enabled": bool})
        _items(problems, where + "appLogLevels", deployment.get("appLogLevels"), {"name": str, "level": LOG_LEVELS},
               required=("name", "level"))
    container = env.get("container")
    instances = container.get("instances") if isinstance(container, dict) else None
    if not _is_int(instances) or not 0 <= instances <= 10:
        problems.append(("environment.container.instances", "is required: a whole number from 0 to 10"))
    if isinstance(container, dict) and "state" in container and container["state"] not in STATES:
        problems.append(("environment.container.state", "must be one of " + ", ".join(STATES)))
    resources = container.get("coreResources") if isinstance(container, dict) else None
    if not isinstance(resources, dict):
        problems.append(("environment.container.coreResources", "is required, with limits and requests"))
    else:
        for part in ("limits", "requests"):
            given = resources.get(part)
            if not isinstance(given, dict):
                problems.append((f"environment.container.coreResources.{part}", "is required, with cpu and memory"))
                continue
            for key in ("cpu", "memory", "ephemeralStorage"):
                if (key in given or key != "ephemeralStorage") and not isinstance(given.get(key), str):
                    problems.append((f"environment.container.coreResources.{part}.{key}", "must be a string, such as '1'"))
    runtime = env.get("runtime")
    if runtime is not None and not isinstance(runtime, dict):
        problems.append(("environment.runtime", "must be an object"))
    elif runtime:
        for key in ("subscriptionSecret", "debuggerPassword", "mxAdminPassword", "runtimeVersion"):
            if key in runtime and not isinstance(runtime[key], str):
                problems.append((f"environment.runtime.{key}", "must be a string"))
        for key in ("environmentVariables", "customRuntimeSettings"):
            _items(problems, f"environment.runtime.{key}", runtime.get(key), {"name": str, "value": str})
    provider = env.get("provider")
    if not isinstance(provider, dict):
        problems.append(("environment.provider", "is required, with clusterId and namespace"))
    else:
        for key in ("clusterId", "namespace"):
            if not isinstance(provider.get(key), str):
                problems.append((f"environment.provider.{key}", "is required: a string"))
        if "namespaceId" in provider and not isinstance(provider["namespaceId"], str):
            problems.append(("environment.provider.namespaceId", "must be a string"))
    network = env.get("network")
    if network is not None and not isinstance(network, dict):
        problems.append(("environment.network", "must be an object"))
    elif network:
        _items(problems, "environment.network.outgoingConnectionCertificate", network.get("outgoingConnectionCertificate"),
               {"enabled": bool, "password": str, "certificateType": str, "key": str}, required=())
    metrics = env.get("runtimeMetricsConfiguration")
    if metrics is not None and not isinstance(metrics, dict):
        problems.append(("environment.runtimeMetricsConfiguration", "must be an object"))
    elif metrics:
        if "mode" in metrics and metrics["mode"] not in METRICS_MODES:
            problems.append(("environment.runtimeMetricsConfiguration.mode", "must be one of " + ", ".join(METRICS_MODES)))
        for key in ("interval", "mxAgentConfig", "mxAgentInstrumentationConfig"):
            if key in metrics and not isinstance(metrics[key], str):
                problems.append((f"environment.runtimeMetricsConfiguration.{key}", "must be a string"))
    _items(problems, "environment.annotations", env.get("annotations"),
           {"key": str, "value": str, "annotationType": ANNOTATION_TYPES}, required=("key",))
    if "services" not in env:
        problems.append(("environment.services", "is required: a list (it may be empty)"))
    else:
        _items(problems, "environment.services", env.get("services"),
               {"name": str, "plan": SERVICE_PLANS, "config": SERVICE_CONFIGS}, required=("name", "plan", "config"))
    strategy = env.get("deploymentStrategy")
    if strategy is not None:
        if not isinstance(strategy, dict):
            problems.append(("environment.deploymentStrategy", "must be an object"))
        else:
            if "runtimeDeploymentStrategyType" in strategy and strategy["runtimeDeploymentStrategyType"] not in STRATEGY_TYPES:
                problems.append(("environment.deploymentStrategy.runtimeDeploymentStrategyType",
                                 "must be one of " + ", ".join(STRATEGY_TYPES)))
            for key in ("switchOverthreshold", "maxSurge", "maxUnavailable"):
                if key in strategy and not _is_int(strategy[key]):
                    problems.append((f"environment.deploymentStrategy.{key}", "must be a whole number"))
    if app is not None and not problems:
        problems += model_problems(app, constants, events)
    return problems


def model_problems(app, constants, events):
    """Constants and scheduled events that the app's model does not define."""
    problems = []
    for index, item in enumerate(constants):
        if item["name"] not in app["constants"]:
            problems.append((f"environment.deployment.constants[{index}].name",
                             f"the app's model defines no constant {item['name']!r}"))
    for index, item in enumerate(events):
        if item["name"] not in app["scheduled_events"]:
            problems.append((f"environment.deployment.scheduledEvents[{index}].name",
                             f"the app's model defines no scheduled event {item['name']!r}"))
    return problems

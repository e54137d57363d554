"""Deploy API routes of the platform beneath the environments: clusters, their namespaces, the apps, and the
configuration tool mxpc-cli (spec 4.13). Writes are jobs; each written manifest is checked against the write schema
of its operation; non-editable fields are kept from the stored manifest; a namespace's secret is stored apart and
never shown (GET /_emulator/namespaces gives its SHA-256)."""

import copy
import hashlib

from aiohttp import web

from . import seed as seedmod
from .common import API, CDN, ApiError, _bool_query, _int_query, _is_uuid, validation_error

CLUSTERS = API + "/clusters"
CLUSTER = CLUSTERS + "/{clusterId}"
NAMESPACES = CLUSTER + "/namespaces"
NAMESPACE = NAMESPACES + "/{namespaceId}"
APPS_LIST = API + "/apps"
APP = API + "/apps/{appId}"
CLI = API + "/cli"
CLI_VERSION = CLI + "/{version}"
CLI_FILES = CDN + "mxpc-cli/"

CLUSTER_TYPES = ("os", "k8s", "eks", "aks", "stackit")
OPERATOR_TYPES = ("global_operator", "standard_operator")
INSTALLATION_TYPES = ("Connected", "Standalone")
NAMESPACE_TYPES = ("standard", "main", "managed")
OPERATING_SYSTEMS = ("windows", "linux", "macos")
ARCHITECTURES = ("x86", "arm")
MANIFEST_VERSION = "2.0.0"
# The configuration tool's versions, newest first, as GET /cli lists them.
CLI_VERSIONS = [
    {"operatorVersion": "2.21.1", "cliVersion": "2.21.1", "availableOperatingSystems": "windows, linux, macos",
     "availableArchitectures": "x86, arm"},
    {"operatorVersion": "2.20.0", "cliVersion": "2.20.0", "availableOperatingSystems": "windows, linux, macos",
     "availableArchitectures": "x86"},
]
PERMISSIONS = ("manageEnvironment", "deployApp", "scaleApp", "startApp", "stopApp", "modifyMxAdminPassword", "editAppConstants",
               "manageAppScheduledEvents", "viewAppLogs", "viewAppAlerts", "viewAppMetrics", "manageAppBackups", "manageDebugger",
               "manageTLSConfigurations", "manageCustomEnvVarJVMOpts", "manageCustomRuntimeSettings", "manageLogLevels",
               "manageRuntimeMetricsConfiguration")
ROLE_PERMISSIONS = {"Administrator": PERMISSIONS, "Developer": ("deployApp", "startApp", "stopApp", "viewAppLogs")}
LINKS = ("metricsUrl", "alertsUrl", "logsUrl", "backupsUrl")
SECRET_SHOWN = "KioqKio="  # base64 of five asterisks


def add_routes(router, emu):
    router.add_get(CLUSTERS, emu.list_clusters)
    router.add_post(CLUSTERS, emu.create_cluster)
    router.add_get(CLUSTER, emu.get_cluster)
    router.add_put(CLUSTER, emu.update_cluster)
    router.add_delete(CLUSTER, emu.delete_cluster)
    router.add_get(NAMESPACES, emu.list_namespaces)
    router.add_post(NAMESPACES, emu.create_namespace)
    router.add_get(NAMESPACE, emu.get_namespace)
    router.add_put(NAMESPACE, emu.update_namespace)
    router.add_delete(NAMESPACE, emu.delete_namespace)
    router.add_get(APPS_LIST, emu.list_apps)
    router.add_get(APP, emu.get_app)
    router.add_get(CLI, emu.list_cli_versions)
    router.add_post(CLI_VERSION, emu.get_cli)
    router.add_get(CLI_FILES + "{version}/{os}/{architecture}/{name}", emu.cli_file)


def fingerprint(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def cli_bytes(version, os_name, architecture):
    """The emulator's stand-in for an mxpc-cli build: a script that names its version, the same bytes every time."""
    return (f"#!/bin/sh\n# mxpc-cli {version} for {os_name}/{architecture}, served by the Mendix for Private Cloud emulator\n"
            f"echo 'mxpc-cli version {version}'\n").encode()


class ClusterApi:
    """The handlers; mixed into Emulator."""

    # ------------------------------------------------------------------ helpers
    def _cluster_or_404(self, request):
        cluster_id = request.match_info["clusterId"]
        found = self.store.get_cluster(cluster_id.lower()) if _is_uuid(cluster_id) else None
        if found is None:
            message = f"Cluster {cluster_id} could not be found"
            raise ApiError(404, message, [("Validation", message)])
        return found

    def _namespace_or_404(self, request, cluster):
        namespace_id = request.match_info["namespaceId"]
        found = self.store.get_namespace(cluster["clusterId"], namespace_id.lower()) if _is_uuid(namespace_id) else None
        if found is None:
            message = f"Namespace {namespace_id} could not be found in cluster {cluster['clusterId']}"
            raise ApiError(404, message, [("Validation", message)])
        return found

    async def _json_body(self, request, what):
        if request.content_type != "application/json":
            raise validation_error([("Content-Type", "must be application/json")])
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise validation_error([("body", f"must be a JSON {what} manifest")]) from None
        if not isinstance(body, dict):
            raise validation_error([("body", f"must be a JSON {what} manifest")])
        return body

    def _cluster_shown(self, cluster):
        shown = copy.deepcopy(cluster)
        namespaces = self.store.list_namespaces(cluster["clusterId"])
        shown["totalNamespaces"] = len(namespaces)
        shown["totalEnvironments"] = sum(len(self.store.namespace_environments(n["namespaceId"])) for n in namespaces)
        return {"manifestVersion": MANIFEST_VERSION, "cluster": shown}

    def _namespace_shown(self, namespace, request):
        shown = copy.deepcopy(namespace)
        # The GET schema requires a secret and the update schema too, so a client echoes what it read. The emulator
        # never shows the one stored (write-only material): it answers SECRET_SHOWN, and an update that carries it back
        # keeps the stored secret; any other value replaces it.
        shown["secret"] = SECRET_SHOWN
        if _bool_query(request, "retrieveEnvironments"):
            shown["environments"] = [
                {"environmentId": env_id, "environmentName": name, "applicationId": app_id,
                 "applicationName": self.store.apps[app_id]["name"] if app_id in self.store.apps else ""}
                for app_id, env_id, name in self.store.namespace_environments(namespace["namespaceId"])]
        return {"manifestVersion": MANIFEST_VERSION, "namespace": shown}

    def _accepted(self, request, kind, params):
        return self.job_accepted(request, self.store.create_job(kind, "", params))

    # ------------------------------------------------------------------ clusters
    async def list_clusters(self, request):
        self.authorize(request, any_of=[seedmod.SCOPE_DEPLOY_READ, seedmod.SCOPE_DEPLOY_WRITE])
        offset = _int_query(request, "offset", 0, 0)
        limit = min(_int_query(request, "limit", 20, 1, 100), int(self.store.settings["max_page_size"]))
        clusters = self.store.list_clusters()[offset:offset + limit]
        return web.json_response({"clusters": [self._cluster_shown(c) for c in clusters]})

    async def get_cluster(self, request):
        self.authorize(request, any_of=[seedmod.SCOPE_DEPLOY_READ, seedmod.SCOPE_DEPLOY_WRITE])
        return web.json_response(self._cluster_shown(self._cluster_or_404(request)))

    async def create_cluster(self, request):
        self.authorize(request, all_of=[seedmod.SCOPE_DEPLOY_WRITE])
        body = await self._json_body(request, "cluster")
        problems = check_cluster(body, create=True)
        if problems:
            raise validation_error(problems)
        return self._accepted(request, "create_cluster", {"manifest": body})

    async def update_cluster(self, request):
        self.authorize(request, all_of=[seedmod.SCOPE_DEPLOY_WRITE])
        cluster = self._cluster_or_404(request)
        body = await self._json_body(request, "cluster")
        problems = check_cluster(body, create=False, cluster_id=cluster["clusterId"])
        if problems:
            raise validation_error(problems)
        return self._accepted(request, "update_cluster", {"cluster_id": cluster["clusterId"], "manifest": body})

    async def delete_cluster(self, request):
        self.authorize(request, all_of=[seedmod.SCOPE_DEPLOY_WRITE])
        cluster = self._cluster_or_404(request)
        return self._accepted(request, "delete_cluster", {"cluster_id": cluster["clusterId"]})

    # ------------------------------------------------------------------ namespaces
    async def list_namespaces(self, request):
        self.authorize(request, any_of=[seedmod.SCOPE_DEPLOY_READ, seedmod.SCOPE_DEPLOY_WRITE])
        cluster = self._cluster_or_404(request)
        offset = _int_query(request, "offset", 0, 0)
        limit = min(_int_query(request, "limit", 20, 1, 100), int(self.store.settings["max_page_size"]))
        namespaces = self.store.list_namespaces(cluster["clusterId"])[offset:offset + limit]
        return web.json_response({"namespaces": [self._namespace_shown(n, request) for n in namespaces]})

    async def get_namespace(self, request):
        self.authorize(request, any_of=[seedmod.SCOPE_DEPLOY_READ, seedmod.SCOPE_DEPLOY_WRITE])
        cluster = self._cluster_or_404(request)
        return web.json_response(self._namespace_shown(self._namespace_or_404(request, cluster), request))

    async def create_namespace(self, request):
        self.authorize(request, all_of=[seedmod.SCOPE_DEPLOY_WRITE])
        cluster = self._cluster_or_404(request)
        body = await self._json_body(request, "namespace")
        problems = check_namespace(body, create=True)
        if problems:
            raise validation_error(problems)
        return self._accepted(request, "create_namespace", {"cluster_id": cluster["clusterId"], "manifest": body})

    async def update_namespace(self, request):
        self.authorize(request, all_of=[seedmod.SCOPE_DEPLOY_WRITE])
        cluster = self._cluster_or_404(request)
        namespace = self._namespace_or_404(request, cluster)
        if cluster.get("operatorType") == "global_operator" and namespace.get("namespaceType") == "main":
            raise validation_error([("namespace", "the Main namespace of a Global Operator installation cannot be updated "
                                                  "through this endpoint")])
        body = await self._json_body(request, "namespace")
        problems = check_namespace(body, create=False, namespace_id=namespace["namespaceId"])
        if problems:
            raise validation_error(problems)
        return self._accepted(request, "update_namespace", {"cluster_id": cluster["clusterId"],
                                                            "namespace_id": namespace["namespaceId"], "manifest": body})

    async def delete_namespace(self, request):
        self.authorize(request, all_of=[seedmod.SCOPE_DEPLOY_WRITE])
        cluster = self._cluster_or_404(request)
        namespace = self._namespace_or_404(request, cluster)
        return self._accepted(request, "delete_namespace", {"cluster_id": cluster["clusterId"],
                                                            "namespace_id": namespace["namespaceId"]})

    # ------------------------------------------------------------------ apps
    async def list_apps(self, request):
        self.authorize(request, any_of=[seedmod.SCOPE_DEPLOY_READ, seedmod.SCOPE_DEPLOY_WRITE])
        offset = _int_query(request, "offset", 0, 0)
        limit = min(_int_query(request, "limit", 100, 1, 100), int(self.store.settings["max_page_size"]))
        apps = sorted(self.store.apps.values(), key=lambda a: a["id"])[offset:offset + limit]
        return web.json_response({"apps": [app_manifest(a) for a in apps]})

    async def get_app(self, request):
        self.authorize(request, any_of=[seedmod.SCOPE_DEPLOY_READ, seedmod.SCOPE_DEPLOY_WRITE])
        return web.json_response(app_manifest(self.app_or_404(request)))

    # ------------------------------------------------------------------ the configuration tool
    async def list_cli_versions(self, request):
        self.authorize(request, any_of=[seedmod.SCOPE_DEPLOY_READ, seedmod.SCOPE_DEPLOY_WRITE])
        return web.json_response({"cliVersionList": CLI_VERSIONS})

    async def get_cli(self, request):
        """303 to the file of that version, system and architecture, after checking each."""
        self.authorize(request, any_of=[seedmod.SCOPE_DEPLOY_READ, seedmod.SCOPE_DEPLOY_WRITE])
        version = request.match_info["version"]
        os_name, architecture = request.query.get("os"), request.query.get("architecture")
        problems = []
        if os_name not in OPERATING_SYSTEMS:
            problems.append(("os", f"must be one of {', '.join(OPERATING_SYSTEMS)}, got {os_name!r}"))
        if architecture not in ARCHITECTURES:
            problems.append(("architecture", f"must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}"))
        if problems:
            raise validation_error(problems)
        known = next((v for v in CLI_VERSIONS if v["cliVersion"] == version), None)
        if known is None:
            message = f"mxpc-cli version {version} could not be found"
            raise ApiError(404, message, [("Validation", message)])
        if architecture not in known["availableArchitectures"].replace(" ", "").split(","):
            raise validation_error([("architecture", f"mxpc-cli {version} is not available for {architecture}")])
        name = "mxpc-cli.exe" if os_name == "windows" else "mxpc-cli"
        location = f"{request.scheme}://{request.host}{CLI_FILES}{version}/{os_name}/{architecture}/{name}"
        return web.Response(status=303, headers={"Location": location, "Content-Location": location})

    async def cli_file(self, request):
        info = request.match_info
        if not any(v["cliVersion"] == info["version"] for v in CLI_VERSIONS) or info["os"] not in OPERATING_SYSTEMS \
                or info["architecture"] not in ARCHITECTURES:
            return web.Response(status=404, text="Not found.\n")
        return web.Response(body=cli_bytes(info["version"], info["os"], info["architecture"]),
                            content_type="application/octet-stream")


def app_manifest(app):
    return {"manifestVersion": MANIFEST_VERSION, "app": {"appId": app["id"], "appName": app["name"]}}


def _text(problems, where, value, required=False):
    if value is None:
        if required:
            problems.append((where, "is required"))
        return
    if not isinstance(value, str) or (required and not value):
        problems.append((where, "must be a non-empty string" if required else "must be a string"))


def _choice(problems, where, value, choices, required=False):
    if value is None:
        if required:
            problems.append((where, f"is required: one of {', '.join(choices)}"))
    elif value not in choices:
        problems.append((where, f"must be one of {', '.join(choices)}, got {value!r}"))


def _flag(problems, where, value):
    if value is not None and not isinstance(value, bool):
        problems.append((where, "must be true or false"))


def _people(problems, where, value, role_required):
    if value is None:
        return
    if not isinstance(value, list):
        problems.append((where, "must be a list"))
        return
    emails = set()
    for index, person in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(person, dict):
            problems.append((at, "must be an object"))
            continue
        _text(problems, at + ".email", person.get("email"), required=True)
        if isinstance(person.get("email"), str):
            if person["email"].lower() in emails:
                problems.append((at + ".email", f"{person['email']} is listed twice"))
            emails.add(person["email"].lower())
        if role_required:
            _text(problems, at + ".role", person.get("role"), required=True)
        _flag(problems, at + ".autoAcceptInvite", person.get("autoAcceptInvite"))


def _nulls(problems, where, obj, keys):
    """An optional field given as null violates the schema (its type is not nullable)."""
    problems.extend((f"{where}.{key}", "must not be null") for key in keys if key in obj and obj[key] is None)


def check_cluster(body, create, cluster_id=None):
    """The problems of a cluster manifest against clusterManifest (create) or updateClusterManifest."""
    problems = []
    _text(problems, "manifestVersion", body.get("manifestVersion"), required=True)
    cluster = body.get("cluster")
    if not isinstance(cluster, dict):
        return problems + [("cluster", "is required: an object")]
    given = cluster.get("clusterId")
    if not isinstance(given, str) or not _is_uuid(given):
        problems.append(("cluster.clusterId", f"must be a UUID, got {given!r}"))
    elif cluster_id and given.lower() != cluster_id:
        problems.append(("cluster.clusterId", f"must be the cluster of the path, {cluster_id}"))
    _nulls(problems, "cluster", cluster, ("description", "operatorType", "clusterManagers"))
    _text(problems, "cluster.name", cluster.get("name"), required=True)
    _choice(problems, "cluster.clusterType", cluster.get("clusterType"), CLUSTER_TYPES, required=True)
    _text(problems, "cluster.description", cluster.get("description"))
    if create:
        _choice(problems, "cluster.operatorType", cluster.get("operatorType"), OPERATOR_TYPES)
    else:
        _people(problems, "cluster.clusterManagers", cluster.get("clusterManagers"), role_required=False)
    return problems


def check_namespace(body, create, namespace_id=None):
    """The problems of a namespace manifest against createNamespaceManifest or updateNamespaceManifest."""
    problems = []
    _text(problems, "manifestVersion", body.get("manifestVersion"), required=True)
    namespace = body.get("namespace")
    if not isinstance(namespace, dict):
        return problems + [("namespace", "is required: an object")]
    given = namespace.get("namespaceId")
    if not isinstance(given, str) or not _is_uuid(given):
        problems.append(("namespace.namespaceId", f"must be a UUID, got {given!r}"))
    elif namespace_id and given.lower() != namespace_id:
        problems.append(("namespace.namespaceId", f"must be the namespace of the path, {namespace_id}"))
    _nulls(problems, "namespace", namespace, ("namespaceType", "productTypePCLM", "plans", "enableDevelopmentMode",
                                              "enableExternalSecretsStore", "membership", "operationalLinks"))
    _text(problems, "namespace.name", namespace.get("name"), required=True)
    _choice(problems, "namespace.installationType", namespace.get("installationType"), INSTALLATION_TYPES, required=True)
    _choice(problems, "namespace.namespaceType", namespace.get("namespaceType"), NAMESPACE_TYPES)
    _text(problems, "namespace.secret", namespace.get("secret"), required=True)
    if create:
        return problems
    _text(problems, "namespace.productTypePCLM", namespace.get("productTypePCLM"), required=True)
    _flag(problems, "namespace.enableDevelopmentMode", namespace.get("enableDevelopmentMode"))
    _flag(problems, "namespace.enableExternalSecretsStore", namespace.get("enableExternalSecretsStore"))
    _people(problems, "namespace.membership", namespace.get("membership"), role_required=True)
    plans = namespace.get("plans")
    if plans is not None and not isinstance(plans, list):
        problems.append(("namespace.plans", "must be a list"))
    for index, plan in enumerate(plans if isinstance(plans, list) else []):
        if not isinstance(plan, dict):
            problems.append((f"namespace.plans[{index}]", "must be an object"))
            continue
        _flag(problems, f"namespace.plans[{index}].activate", plan.get("activate"))
    links = namespace.get("operationalLinks")
    if links is not None and not isinstance(links, dict):
        problems.append(("namespace.operationalLinks", "must be an object"))
    for key in LINKS:
        _text(problems, f"namespace.operationalLinks.{key}", (links or {}).get(key) if isinstance(links, dict) else None)
    return problems


def _invited(people, current, role_field):
    """The people of a written manifest as stored: an invitation already made keeps its status and display name;
    a new one is Invitation_Sent, or Accepted with autoAcceptInvite (which only new invitations read)."""
    known = {p["email"].lower(): p for p in current}
    out = []
    for person in people:
        was = known.get(person["email"].lower())
        entry = {"email": person["email"]}
        if role_field:
            entry["role"] = person["role"]
            entry["permissions"] = {p: p in ROLE_PERMISSIONS.get(person["role"], ()) for p in PERMISSIONS}
        entry["status"] = was["status"] if was else ("Accepted" if person.get("autoAcceptInvite") else "Invitation_Sent")
        entry["displayName"] = was["displayName"] if was else person["email"].split("@")[0]
        out.append(entry)
    return out


def new_cluster(body):
    cluster = body["cluster"]
    return {"clusterId": cluster["clusterId"].lower(), "name": cluster["name"], "clusterType": cluster["clusterType"],
            "operatorType": cluster.get("operatorType") or "standard_operator", "description": cluster.get("description", ""),
            "creator": "Emulator User", "clusterManagers": [{"email": "creator@example.test", "status": "Accepted",
                                                             "displayName": "Emulator User"}]}


def updated_cluster(stored, body):
    """A cluster after an update: name, type, description and managers from the manifest; the operator type (which
    cannot change) and the creator kept."""
    cluster = body["cluster"]
    out = dict(stored, name=cluster["name"], clusterType=cluster["clusterType"])
    if "description" in cluster:
        out["description"] = cluster["description"]
    if "clusterManagers" in cluster:
        out["clusterManagers"] = _invited(cluster["clusterManagers"], stored.get("clusterManagers", []), role_field=False)
    return out


def new_namespace(body):
    namespace = body["namespace"]
    return {"namespaceId": namespace["namespaceId"].lower(), "name": namespace["name"],
            "namespaceType": namespace.get("namespaceType") or "standard", "installationType": namespace["installationType"],
            "productTypePCLM": "standard", "plans": [
                {"planName": "ephemeral", "planType": "OnDemand", "activate": False, "planConfig": '{type: "database"}'},
                {"planName": "minio", "planType": "Dedicated", "activate": False, "planConfig": '{type: "storage"}'}],
            "enableDevelopmentMode": False, "enableExternalSecretsStore": False,
            "membership": [{"email": "creator@example.test", "role": "Administrator", "status": "Accepted",
                            "displayName": "Emulator User",
                            "permissions": {p: True for p in PERMISSIONS}}],
            "operationalLinks": {}}


def updated_namespace(stored, body):
    """A namespace after an update: the editable fields from the manifest; the installation and namespace types, the
    plans' names, types and configurations, the members' statuses and display names kept."""
    namespace = body["namespace"]
    out = copy.deepcopy(stored)
    out["name"] = namespace["name"]
    out["productTypePCLM"] = namespace["productTypePCLM"]
    for flag in ("enableDevelopmentMode", "enableExternalSecretsStore"):
        if flag in namespace:
            out[flag] = namespace[flag]
    if "plans" in namespace:
        wanted = {p.get("planName"): p for p in namespace["plans"]}
        for plan in out["plans"]:
            if plan["planName"] in wanted and "activate" in wanted[plan["planName"]]:
                plan["activate"] = wanted[plan["planName"]]["activate"]
    if "membership" in namespace:
        out["membership"] = _invited(namespace["membership"], stored.get("membership", []), role_field=True)
    if "operationalLinks" in namespace:
        out["operationalLinks"] = {k: v for k, v in namespace["operationalLinks"].items() if k in LINKS}
    return out


def seeded_platform(seed):
    """The clusters and namespaces the seed's environments are in: ([cluster], [(cluster id, namespace)])."""
    clusters, namespaces, seen = {}, [], set()
    for app in seed["apps"]:
        for ns in app["namespaces"]:
            cluster_id = ns["cluster_id"].lower()
            clusters.setdefault(cluster_id, {
                "clusterId": cluster_id, "name": ns.get("cluster_name") or "demo-cluster", "clusterType": "k8s",
                "operatorType": "standard_operator", "description": "The seed's cluster.", "creator": "Emulator User",
                "clusterManagers": [{"email": "creator@example.test", "status": "Accepted", "displayName": "Emulator User"}]})
            if ns["id"] in seen:
                continue
            seen.add(ns["id"])
            namespace = new_namespace({"namespace": {"namespaceId": ns["id"], "name": ns["name"], "installationType": "Connected"}})
            for plan in namespace["plans"]:
                plan["activate"] = True
            namespaces.append((cluster_id, namespace))
    return list(clusters.values()), namespaces

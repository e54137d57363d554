"""The emulator: one aiohttp application made of the API route modules, the middleware and the control API.

Layout: common.py (paths, error envelope), middleware.py (request log, faults, rate limit, authentication),
build_api.py, deploy_api.py, cluster_api.py and repo_api.py (the routes of the Build API, the Deploy API's environments, the
Deploy API's clusters, namespaces, apps and mxpc-cli, the App Repository API), control.py (/_emulator/), store.py (state) and
jobs.py (the job runner).
"""

from aiohttp import web

from . import build_api, cluster_api, control, deploy_api, repo_api
from .build_api import BuildApi
from .cluster_api import ClusterApi
from .control import ControlApi
from .deploy_api import DeployApi
from .jobs import JobRunner
from .middleware import DEFAULT_REQUEST_LOG_LIMIT, Middleware
from .repo_api import RepoApi
from .store import Store


class Emulator(Middleware, BuildApi, DeployApi, ClusterApi, RepoApi, ControlApi):
    """One emulator: its store, job runner, tokens, request log, faults and rate limiter."""

    def __init__(self, data_dir, seed, rate_limit=None, request_log_limit=DEFAULT_REQUEST_LOG_LIMIT, rate_window=60):
        self.seed = seed
        self.store = Store(data_dir, seed)
        self.jobs = JobRunner(self.store)
        self.initial_settings = dict(seed["settings"])
        self.unhealthy = set()  # environment ids whose app answers 503 (POST /_emulator/app-health)
        self.edits = []  # concurrent edits of environments to make after some reads (POST /_emulator/environment-edits)
        self.trickling = set()  # environment ids whose app answers a byte a second (POST /_emulator/app-health)
        self.deploy_faults = []  # what the next environment updates do instead (POST /_emulator/deploy-faults)
        self.init_middleware(seed["tokens"], rate_limit, request_log_limit, rate_window)

    def make_app(self):
        app = web.Application(middlewares=[self.api_middleware])
        build_api.add_routes(app.router, self)
        deploy_api.add_routes(app.router, self)
        cluster_api.add_routes(app.router, self)
        repo_api.add_routes(app.router, self)
        control.add_routes(app.router, self)
        app.on_startup.append(self.jobs.start)
        app.on_cleanup.append(self._stop)
        return app

    async def _stop(self, app):
        await self.jobs.stop(app)
        self.store.close()

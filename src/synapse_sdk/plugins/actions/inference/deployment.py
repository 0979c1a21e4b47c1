"""``BaseDeploymentAction``: the ``deployment`` action of a pre-processor: put its model server on Ray Serve.

``deploy()`` builds the Serve application from the plugin's ``inference`` entrypoint (a
:class:`~synapse_sdk.plugins.actions.inference.serve.BaseServeDeployment` subclass, decorated or not),
with the run's resources and the release's ``serve_options`` (``batch`` sizes the batches and sets
``max_ongoing_requests`` to twice the batch size, since Serve's default of 5 would cap every batch at
5), and starts it without waiting (``serve.run_many(..., wait_for_applications_running=False)``):
readiness is the agent's to watch. ``register_serve_application()`` records it on the backend.
Every ``get_*`` is a hook a plugin may override.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from synapse_sdk.enums import PluginCategory
from synapse_sdk.exceptions import ExecutionError
from synapse_sdk.plugins._backend import resolved_credentials
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.actions.inference.serve import BaseServeDeployment
from synapse_sdk.plugins.config import ActionConfig, PluginConfig

__all__ = ['SERVE_HOST_ENV', 'SERVE_PORT_ENV', 'BaseDeploymentAction', 'DeploymentParams', 'DeploymentResult']

SERVE_HOST_ENV = 'SYNAPSE_SERVE_HTTP_HOST'  #: where Serve's HTTP proxy listens (default 127.0.0.1)
SERVE_PORT_ENV = 'SYNAPSE_SERVE_HTTP_PORT'  #: its port (default 8000)
P = TypeVar('P', bound=BaseModel)


class DeploymentParams(BaseModel):
    """What a deployment run is given (ToTask's dispatch sends ``num_cpus``, ``num_gpus`` and the optional rest)."""

    model_config = ConfigDict(extra='forbid')

    num_cpus: float = Field(default=1, ge=0, description='CPUs per replica')
    num_gpus: float = Field(default=0, ge=0, description='GPUs per replica (0: none)')
    memory: int | None = Field(default=None, ge=0, description='Memory per replica (bytes)')
    num_replicas: int = Field(default=1, ge=1)
    model: int | None = Field(default=None, description='A model each replica loads at start (optional)')


class DeploymentResult(BaseModel):
    """Where the application is."""

    app_name: str
    route_prefix: str
    serve_application: int | None = None  #: the backend's ``serve_applications/`` row


class BaseDeploymentAction(BaseAction[P], Generic[P]):
    """Deploys the plugin's model server on Ray Serve and registers it on the backend."""

    action_name: ClassVar[str | None] = 'deployment'
    category: ClassVar[PluginCategory | None] = PluginCategory.NEURAL_NET
    result_model = DeploymentResult
    #: the action key whose entrypoint is the Serve deployment class
    serve_action: ClassVar[str] = 'inference'

    def execute(self) -> DeploymentResult:
        """``deploy()`` then ``register_serve_application()``."""
        self.deploy()
        app_id = self.register_serve_application()
        return DeploymentResult(
            app_name=self.get_serve_app_name(), route_prefix=self.get_route_prefix(), serve_application=app_id
        )

    # ------------------------------------------------------------------ the plugin
    @property
    def plugin_dir(self) -> Path:
        """The plugin folder: the nearest one above this action's module holding ``config.yaml``."""
        source = inspect.getsourcefile(type(self))
        folder = Path(source).resolve().parent if source else Path.cwd()
        for candidate in (folder, *folder.parents):
            if (candidate / 'config.yaml').is_file():
                return candidate
        return Path.cwd()

    @property
    def plugin_config(self) -> PluginConfig:
        from synapse_sdk.plugins.config import load_config

        cached = self.__dict__.get('_plugin_config')
        if cached is None:
            cached = self.__dict__['_plugin_config'] = load_config(self.plugin_dir / 'config.yaml')
        return cached

    def _action_config(self, key: str) -> ActionConfig | None:
        return self.plugin_config.actions.get(key)

    # ------------------------------------------------------------------ hooks
    def get_serve_app_name(self) -> str:
        """The Serve application's name: the plugin code."""
        return self.plugin_config.code

    def get_route_prefix(self) -> str:
        """Its HTTP route: ``/<app name>``."""
        return f'/{self.get_serve_app_name()}'

    def get_ray_actor_options(self) -> dict[str, Any]:
        """Each replica's resources, from the run's params (``num_gpus: 0`` is no GPU)."""
        options: dict[str, Any] = {
            'num_cpus': self._param('num_cpus', 1),
            'num_gpus': self._param('num_gpus', 0),
        }
        memory = self._param('memory', None)
        if memory:
            options['memory'] = memory
        return options

    def get_serve_options(self) -> dict[str, Any]:
        """``actions.deployment.serve_options`` of the release (``batch`` is taken out: see :meth:`get_batch`)."""
        config = self._action_config(self.action_name or 'deployment')
        options = dict(config.serve_options) if config is not None else {}
        options.pop('batch', None)
        batch = self.get_batch()
        if batch.get('max_batch_size'):
            options.setdefault('max_ongoing_requests', 2 * int(batch['max_batch_size']))
        options.setdefault('num_replicas', self._param('num_replicas', 1))
        return options

    def get_batch(self) -> dict[str, Any]:
        """``serve_options.batch`` (``max_batch_size``, ``batch_wait_timeout_s``), or ``{}``."""
        config = self._action_config(self.action_name or 'deployment')
        batch = (config.serve_options if config is not None else {}).get('batch') or {}
        return dict(batch) if isinstance(batch, dict) else {}

    def get_runtime_env(self) -> dict[str, Any]:
        """The replicas' Ray runtime env: none of its own (they run in the job's, which holds the plugin)."""
        return {}

    def get_deployment_class(self) -> Any:
        """The Serve deployment class: the ``inference`` action's entrypoint."""
        config = self._action_config(self.serve_action)
        if config is None:
            raise ExecutionError(
                f"config.yaml has no '{self.serve_action}' action: add its entrypoint (the BaseServeDeployment class)"
            )
        from synapse_sdk.plugins._loading import import_plugin_module
        from synapse_sdk.plugins.config import parse_entrypoint

        entry = parse_entrypoint(config.entrypoint)
        module = import_plugin_module(entry.module, self.plugin_dir, entrypoint=config.entrypoint)
        try:
            return getattr(module, entry.attr)
        except AttributeError:
            raise ExecutionError(f"entrypoint '{config.entrypoint}': {entry.module} has no {entry.attr}") from None

    def get_init_kwargs(self) -> dict[str, Any]:
        """What each replica's constructor gets: the backend, its token, the model to load and the batch sizes."""
        client = self.ctx.client
        kwargs: dict[str, Any] = {
            'backend_url': getattr(client, 'base_url', None) or os.environ.get('SYNAPSE_HOST'),
            'access_token': os.environ.get('SYNAPSE_ACCESS_TOKEN') or resolved_credentials().get('access_token'),
        }
        model = self._param('model', None)
        if model is None:
            model = self.get_release_model()
        if model is not None:
            kwargs['model_id'] = model
        batch = self.get_batch()
        if batch:
            kwargs['batch'] = batch
        return kwargs

    def get_release_model(self) -> int | None:
        """The model each replica loads at start when the run names none: the newest model published with this
        release (``models/?plugin_release=<release of this job>``), so a broken model fails the deployment."""
        client = self.ctx.client
        job = os.environ.get('SYNAPSE_JOB_ID')
        if client is None or not job:
            return None
        release = client.get_job(job).get('plugin_release')
        if release is None:
            return None
        models = getattr(client, 'models', None)
        found = models.list({'plugin_release': release}) if models is not None else []
        ids = [int(m['id']) for m in found or [] if isinstance(m, dict) and m.get('id') is not None]
        return max(ids) if ids else None

    # ------------------------------------------------------------------ the work
    def deploy(self) -> None:
        """Start (or update) the application on the cluster this job runs on; returns without waiting for it."""
        from synapse_sdk.plugins.executors.ray._ray import import_ray

        ray = import_ray()
        serve = import_ray('ray.serve')
        if not ray.is_initialized():
            ray.init(address=os.environ.get('RAY_ADDRESS') or 'auto', ignore_reinit_error=True)
        host = os.environ.get(SERVE_HOST_ENV, '127.0.0.1')
        port = int(os.environ.get(SERVE_PORT_ENV, '8000'))
        serve.start(http_options={'host': host, 'port': port})
        target = self.get_deployment_class()
        if not isinstance(target, serve.Deployment):
            ingress = _fastapi_app(target)
            if ingress is None and isinstance(target, type) and issubclass(target, BaseServeDeployment):
                target, ingress = target.with_default_route()
            if ingress is not None:
                target = serve.ingress(ingress)(target)
            target = serve.deployment(target)
        options = {'ray_actor_options': self.get_ray_actor_options(), **self.get_serve_options()}
        runtime_env = self.get_runtime_env()
        if runtime_env:
            options['ray_actor_options']['runtime_env'] = runtime_env
        application = target.options(**options).bind(**self.get_init_kwargs())
        run_target = serve.RunTarget(
            target=application, name=self.get_serve_app_name(), route_prefix=self.get_route_prefix()
        )
        serve.run_many([run_target], wait_for_ingress_deployment_creation=False, wait_for_applications_running=False)
        self.ctx.log_message(
            f'Deploying {self.get_serve_app_name()} at http://{host}:{port}{self.get_route_prefix()}/', 'info'
        )

    def register_serve_application(self) -> int | None:
        """Create or update the backend's ``serve_applications/`` row of this application; its id (None: no backend)."""
        client = self.ctx.client
        if client is None:
            return None
        config = self.plugin_config
        name = self.get_serve_app_name()
        meta = {'route_prefix': self.get_route_prefix()}
        job = os.environ.get('SYNAPSE_JOB_ID')
        found = client.list_serve_applications(params={'name': name, 'plugin_code': config.code})
        rows = found.get('results') if isinstance(found, dict) else found
        existing = next((r for r in rows or [] if isinstance(r, dict)), None)
        apps = getattr(client, 'serve_applications', None)
        if apps is None:
            return None
        if existing is not None:
            apps.update(existing['id'], {'meta': {**(existing.get('meta') or {}), **meta}})
            return int(existing['id'])
        body: dict[str, Any] = {'name': name, 'plugin_code': config.code, 'version': config.version, 'meta': meta}
        if job and job.isdigit():
            body['job'] = int(job)
        row = apps.create(body)
        return int(row['id'])

    def _param(self, name: str, default: Any) -> Any:
        value = getattr(self.params, name, None)
        return default if value is None else value


def _fastapi_app(cls: Any) -> Any:
    """The FastAPI app a deployment class routes with: its ``app`` attribute, else its module's ``app``."""
    import sys

    candidate = getattr(cls, 'app', None) or getattr(sys.modules.get(cls.__module__), 'app', None)
    return candidate if type(candidate).__name__ == 'FastAPI' else None

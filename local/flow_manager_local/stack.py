"""The local stack: moto + the template's resources + function workers + the gateway.

`LocalStack.start()` brings it up in this order, and `stop()` takes it down in the
reverse order, leaving no process and no port behind:

1. read template.yaml (a broken template fails here, before anything is bound);
2. the worker processes of the functions behind the API's routes, warming (importing
   their handlers) on the other core while this process imports and starts moto and
   creates the resources;
3. moto in server mode on loopback, in this process, with Step Functions executing
   state machines (`MOTO_CONFIG`) and every Lambda invoke routed to our workers;
4. the template's resources created in moto;
5. the API Gateway front end, once the API's workers are warm: from here /health
   answers, through a warm API worker;
6. in the background, the other functions' (the tasks') workers, one function at a
   time, in the template's order.

The start waits for the API's workers only. Warming every function's at once, before
listening, made 7 processes share 2 cores for the whole start (each worker imports its
handler: ~0.4 s of CPU alone, more when they compete) and doubled it. An invoke that
comes before its function's worker is warm waits for a worker to start, as a cold
Lambda does (~0.5 s).

moto (and boto3) are imported in step 3, not when this module is: that second of
imports is what the API worker's warming overlaps.

`serve()` runs it in the foreground until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from flow_manager_local import (
    moto_dynamodb,
    moto_history,
    moto_lambda,
    moto_parse,
    moto_speedups,
    moto_stop,
    moto_versions,
)
from flow_manager_local.console import Console, route_logging
from flow_manager_local.gateway import Gateway, LocalHandler, Route
from flow_manager_local.root_template import TemplateRoot, root_environment
from flow_manager_local.template import (
    IMPLICIT_API,
    IMPLICIT_STAGE,
    Resolver,
    StackModel,
    StackSettings,
    TemplateError,
    read_stack,
)
from flow_manager_local.worker_processes import worker_environment
from flow_manager_local.workers import FunctionPool, Workers

if TYPE_CHECKING:
    from flow_manager_local.moto_server import MotoServer
    from flow_manager_local.provision import Clients
    from flow_manager_local.scheduler import LocalScheduler

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 3000
DEFAULT_MOTO_PORT = 3001
STOP_DEADLINE_SECONDS = 15.0
API_FUNCTION = "ApiFunction"  # the fallback route target when the template has no Api events


class StackError(Exception):
    """The local stack cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class StackOptions:
    template: Path
    port: int = DEFAULT_PORT
    moto_port: int = DEFAULT_MOTO_PORT
    host: str = LOOPBACK
    max_workers: int = 4
    settings: StackSettings = field(default_factory=StackSettings)
    verbose: bool = False


def ensure_port_free(host: str, port: int, what: str, option: str) -> None:
    """Fail with a readable message when the port is taken (binding would raise later)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise StackError(
                f"{what} cannot listen on {host}:{port} ({exc.strerror}): another process "
                f"uses it (`lsof -i :{port}`), or choose another port with {option}"
            ) from None


class LocalStack:
    def __init__(self, options: StackOptions, console: Console | None = None) -> None:
        self.options = options
        self.console = console or Console(verbose=options.verbose)
        self.model: StackModel | None = None
        self.workers: Workers | None = None
        self.gateway: Gateway | None = None
        self.resources: list[str] = []
        self._moto: MotoServer | None = None
        self._uninstall: Callable[[], None] | None = None
        self.scheduler: LocalScheduler | None = None
        self.moto_url = ""
        self._listening = threading.Event()  # the other functions' workers may warm
        self._stopping = False

    # -- start

    def start(self) -> None:
        options = self.options
        self.model = read_stack(options.template, options.settings)
        self.console.register("stack", "gateway", *self.model.functions)
        self.console.line("stack", f"starting from {self.model.template_path}")
        ensure_port_free(options.host, options.port, "the API", "--port")
        ensure_port_free(options.host, options.moto_port, "moto", "--moto-port")
        routes = self._routes(self.model)
        front = {route.function_name for route in routes}
        warming: threading.Event | None = None
        if options.moto_port:  # moto's URL is known: warm the workers while moto starts
            self.moto_url = f"http://{options.host}:{options.moto_port}"
            warming = self._warm(self.model, front)
        self._start_moto()
        if warming is None:  # an ephemeral moto port: the workers need its URL first
            warming = self._warm(self.model, front)
        from flow_manager_local.provision import Clients, provision

        clients = Clients(self.moto_url, options.settings.region)
        try:
            self.resources = provision(self.model, clients)
        except Exception as exc:
            raise StackError(f"creating the template's resources in moto failed: {exc}") from exc
        warming.wait()
        assert self.workers is not None
        local: dict[str, LocalHandler] = {}
        if self.model.schedule_groups:
            from flow_manager_local.scheduler import clock_request

            scheduler = self.scheduler = self._start_scheduler(self.model, clients)
            local["/_local/clock"] = partial(clock_request, scheduler)
        self.gateway = Gateway(
            routes,
            self.workers.dispatch,
            self.console,
            host=options.host,
            port=options.port,
            account_id=options.settings.account_id,
            local=local,
        )
        self.gateway.start()
        self._listening.set()

    def _warm(self, model: StackModel, front: set[str]) -> threading.Event:
        """Make every function's pool and warm them in a thread: those of `front` at once,
        then, once the gateway listens, the others one by one. The event returned is set
        when `front`'s are warm."""
        workers = self.workers = self._make_workers(model, front)
        front_warm = threading.Event()

        def warm() -> None:
            try:
                workers.start(front)
            finally:
                front_warm.set()
            self._listening.wait()  # not before: they would slow the start down
            for name in workers.pools:
                if name not in front and not self._stopping:
                    workers.start((name,))

        threading.Thread(target=warm, name="warm", daemon=True).start()
        return front_warm

    def _start_scheduler(self, model: StackModel, clients: Clients) -> LocalScheduler:
        """moto never fires schedules: this loop does (flow_manager_local.scheduler)."""
        from flow_manager_local.scheduler import LocalScheduler

        self.console.register("scheduler")
        scheduler = LocalScheduler(
            clients.scheduler,
            clients.sfn,
            list(model.schedule_groups.values()),
            lambda line: self.console.line("scheduler", line),
        )
        scheduler.start()
        return scheduler

    def _start_moto(self) -> None:
        # Before anything imports moto's Step Functions interpreter (and EC2 with it).
        moto_speedups.defer_package_init()
        # Before moto and the provisioning clients load botocore's service models.
        unshare_models = moto_speedups.share_service_models()
        from flow_manager_local.moto_server import MotoServer

        unroute_logging = route_logging(self.console)
        try:
            self._moto = MotoServer(self.options.host, self.options.moto_port)
        except OSError as exc:  # taken since ensure_port_free looked
            raise StackError(
                f"moto cannot listen on {self.options.host}:{self.options.moto_port} "
                f"({exc.strerror}): choose another port with --moto-port"
            ) from None
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        # moto's ASL interpreter calls Lambda back through this port.
        os.environ["MOTO_PORT"] = str(port)
        request = urllib.request.Request(
            f"{self.moto_url}/moto-api/config",
            data=json.dumps(moto_lambda.MOTO_CONFIG).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        # The hook must live in the server's process: this one (ThreadedMotoServer).
        uninstall_hook = moto_lambda.install(self._dispatch)
        # The API starts executions on state machine versions, which moto cannot alone.
        uninstall_versions = moto_versions.install()
        # The server is threaded: moto's transaction rollback must not undo other writes.
        uninstall_dynamodb = moto_dynamodb.install()
        # Parse trees, JSONPaths and boto3 clients once, not once per execution.
        uninstall_speedups = moto_speedups.install()
        # After the speedups (it wraps their cached parse): a 500-task flow's parse
        # would not fit in the gateway's 29 s (moto_parse.py).
        uninstall_parse = moto_parse.install()
        # Reports read the history without data and pages of it, as AWS serves them.
        uninstall_history = moto_history.install()
        # A cancel just after a start stops the execution, as on AWS.
        uninstall_stop = moto_stop.install()

        def uninstall() -> None:
            uninstall_stop()
            uninstall_history()
            uninstall_parse()
            uninstall_speedups()
            uninstall_dynamodb()
            uninstall_versions()
            uninstall_hook()
            unroute_logging()
            unshare_models()

        self._uninstall = uninstall
        # Many first invokes at once would all load Lambda's service model; load it now.
        from moto.core.routing import get_service_router

        get_service_router("lambda")

    def _dispatch(self, function_name: str, payload: bytes) -> moto_lambda.Invocation:
        if self.workers is None:
            return moto_lambda.Invocation.unhandled("Runtime.Unavailable", "not started")
        return self.workers.dispatch(function_name, payload)

    def _make_workers(self, model: StackModel, front: set[str]) -> Workers:
        region = model.settings.region
        root = TemplateRoot(
            sys.executable,
            root_environment(endpoint_url=self.moto_url, region=region),
            self.console,
        )
        pools: dict[str, FunctionPool] = {}
        for spec in model.functions.values():
            environment = worker_environment(spec, endpoint_url=self.moto_url, region=region)
            pools[spec.name] = FunctionPool(
                spec,
                environment,
                self.console,
                max_workers=self.options.max_workers,
                awaited=spec.name in front,
                root=root,
            )
        return Workers(pools, root)

    def _routes(self, model: StackModel) -> list[Route]:
        routes: list[Route] = []
        for spec in model.functions.values():
            for api_route in spec.routes:
                api = model.apis.get(api_route.api)
                routes.append(
                    Route(
                        method=api_route.method,
                        resource=api_route.path,
                        function_name=spec.name,
                        stage=api.stage if api else IMPLICIT_STAGE,
                        api_id=_api_id(model, api_route.api),
                        binary_media_types=api.binary_media_types if api else (),
                    )
                )
        if not routes and API_FUNCTION in model.functions:
            # No Api events (an OpenAPI-defined API, say): send everything to ApiFunction.
            name = model.functions[API_FUNCTION].name
            api_id = _api_id(model, IMPLICIT_API)
            routes = [
                Route("ANY", "/", name, IMPLICIT_STAGE, api_id),
                Route("ANY", "/{proxy+}", name, IMPLICIT_STAGE, api_id),
            ]
        return routes

    # -- stop

    def stop(self) -> None:
        """Stop everything started, in reverse order; safe to call after a partial start."""
        self._stopping = True
        self._listening.set()  # the warming thread ends (its pools are closing)
        if self.gateway is not None:
            with _logged(self.console, "stopping the gateway"):
                self.gateway.stop()
        if self.scheduler is not None:
            with _logged(self.console, "stopping the scheduler"):
                self.scheduler.stop()
        if self.workers is not None:
            with _logged(self.console, "stopping the workers"):
                self.workers.close()
        if self._uninstall is not None:
            self._uninstall()
            self._uninstall = None
        if self._moto is not None:
            with _logged(self.console, "stopping moto"):
                self._moto.stop()
            self._moto = None

    def kill(self) -> None:
        """The last resort when stop() overruns: kill every worker process group now."""
        for pid in self.workers.process_groups() if self.workers else []:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    # -- what it shows

    @property
    def url(self) -> str:
        return self.gateway.url if self.gateway else ""

    def banner(self) -> str:
        assert self.model is not None
        root = self.model.template_path.parent
        flow_file = root / "events" / "flows" / "data_pipeline.json"
        relative = os.path.relpath(flow_file, Path.cwd())
        counts = ", ".join(
            _count(len(things), noun)
            for things, noun in (
                (self.model.functions, "function"),
                (self.model.tables, "table"),
                (self.model.state_machines, "state machine"),
            )
        )
        template = os.path.relpath(self.model.template_path, Path.cwd())
        lines = [
            "",
            f"Flow Manager local stack is up: {counts} from {template} "
            f'(stack "{self.model.settings.stack_name}")',
            "",
            f"  API          {self.url}",
            f"  Swagger UI   {self.url}/docs",
            f"  Console      {self.url}/ui/",
            f"  AWS (moto)   {self.moto_url}    "
            f"e.g. AWS_ENDPOINT_URL={self.moto_url} aws stepfunctions list-state-machines",
            "",
            "  Try:",
            f"    curl -s {self.url}/health",
        ]
        if flow_file.is_file():
            lines += [
                f"    curl -s -X POST {self.url}/flows -H 'Content-Type: application/json' "
                f"-d @{relative}",
                f"    curl -s -X POST {self.url}/flows/data_pipeline/executions "
                "-H 'Content-Type: application/json' -d '{\"context\": {}}'",
                f"    {cli_command(self.url, f'run {relative}')}",
            ]
        lines += ["", "Ctrl-C stops everything.", ""]
        return "\n".join(lines)


def cli_command(url: str, arguments: str) -> str:
    """`flow-manager <arguments>` as a person can type it here: the CLI's path when the
    virtualenv is not active (not on PATH), `--endpoint` when not on the default port."""
    from flow_manager_local.client import LOCAL_ENDPOINT

    installed = Path(sys.executable).parent / "flow-manager"
    found = shutil.which("flow-manager")
    command = f"flow-manager {arguments}"
    if installed.is_file() and (found is None or Path(found).resolve() != installed.resolve()):
        command = f"{os.path.relpath(installed, Path.cwd())} {arguments}"
    if url.rstrip("/") != LOCAL_ENDPOINT:
        command += f" --endpoint {url}"
    return command


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _api_id(model: StackModel, logical_id: str) -> str:
    return Resolver({"Resources": {}}, model.settings).api_id(logical_id)


@contextlib.contextmanager
def _logged(console: Console, what: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:  # keep stopping the rest
        console.line("stack", f"{what} failed: {type(exc).__name__}: {exc}")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(options: StackOptions, console: Console | None = None) -> int:
    """Run the local stack in the foreground until Ctrl-C / SIGTERM; return an exit code."""
    console = console or Console(verbose=options.verbose)
    stack = LocalStack(options, console)
    # Explicitly: a shell starting `serve &` hands it SIGINT ignored, and Ctrl-C (or
    # `kill -INT`) must still stop it.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    started = time.monotonic()
    code = 0
    try:
        stack.start()
        console.line("stack", f"ready in {time.monotonic() - started:.1f} s")
        for line in stack.resources:
            console.line("stack", line)
        console.plain(stack.banner())
        threading.Event().wait()
    except KeyboardInterrupt:
        console.line("stack", "stopping")
    except (StackError, TemplateError) as exc:
        console.line("stack", f"error: {exc}")
        code = 2
    finally:
        _stop_within_deadline(stack, console)
    return code


def _stop_within_deadline(stack: LocalStack, console: Console) -> None:
    def force(signum: int, frame: FrameType | None) -> None:
        stack.kill()
        os._exit(130)

    # A second Ctrl-C while stopping means "now".
    signal.signal(signal.SIGINT, force)
    signal.signal(signal.SIGTERM, force)
    done = threading.Event()

    def watchdog() -> None:
        if not done.wait(STOP_DEADLINE_SECONDS):
            console.line("stack", f"stopping took over {STOP_DEADLINE_SECONDS:.0f} s: killing")
            stack.kill()
            os._exit(1)

    threading.Thread(target=watchdog, name="stop-watchdog", daemon=True).start()
    stack.stop()
    done.set()
    console.line("stack", "stopped")

"""Stop moto's Step Functions interpreter (5.2.5) redoing the same work for every execution.

Profiled under load (benchmarks/throughput.py, py-spy --gil on the moto process), ~40 %
of the GIL time went to work that gives the same answer every time:

- every execution parses its definition again (ANTLR, then moto's Preprocessor into
  evaluation components; pure Python, ~30 ms for the 3-task sample): ~21 %. The
  parsed program is cached here per definition text and shared by its executions.
  That is how moto itself runs an inline Map: one component tree evaluated by many
  threads at once, each with its own Environment, where every bit of per-run state
  lives (Retry's attempt counts are kept in the Environment under the component's
  `heap_key`). A definition that does not parse is not cached: it raises every time;
- every JSONPath (`$.Payload`, `$.results.task1`, ...) builds a new PLY parser and its
  LALR tables before parsing: ~13 %. JSONPath expressions are immutable, so the parsed
  expression is cached per path text;
- every AWS call of the interpreter created a new boto3 client (and a new connection
  pool): ~7 %, when a flow's Lambda invokes still went through one (moto_lambda now
  hands them to the workers directly; the SDK integrations still use clients). One
  client per (service, region, endpoint) is kept; boto3 clients are thread-safe.

And in moto's server (`moto.moto_server.werkzeug_app`), every request finds its backend
by listing moto's package directory and stat-ing each of its ~200 entries
(`backends.list_of_moto_modules`), under a lock that every request takes: with the
waits on that lock, ~49 % of the serve process's busy time under load (py-spy of
benchmarks/throughput.py, idle frames left out). The package does not change while the
server runs, so the list is read once. Likewise every request listed its response
class's methods (`inspect.getmembers`) to find whether the action is one: ~2-3 % of
serve's GIL time under load; a class's methods are listed once (the local stack's
patches replace methods, they add none).

`defer_package_init()` is for start-up: moto's interpreter imports `moto.batch` for
the Batch task integration, whose package __init__ imports all of moto's EC2 (region
and instance-type tables: ~2 s of the local stack's start on this machine, for a
service the stack never uses). The package is registered without running its __init__
until something reads an attribute of it.

Install it wherever moto's backends live (the moto server's process for the local
stack, like moto_lambda and moto_versions); `install()` returns the function that
undoes it.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

PARSE_CACHE_SIZE = 256  # distinct definitions (a flow version each)
JSONPATH_CACHE_SIZE = 4096  # distinct path expressions
CLIENT_POOL_CONNECTIONS = 64  # interpreter threads invoking at once share one client

_PATH_MODULES = (
    # (module, the name it imported jsonpath_ng's parse under)
    "moto.stepfunctions.parser.asl.utils.json_path",
    "moto.stepfunctions.parser.asl.component.common.path.result_path",
)
_CLIENT_MODULES = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
)


DEFERRED_PACKAGES = ("moto.batch",)


class _DeferredPackage(types.ModuleType):
    """A package whose __init__ runs at the first read of an attribute it does not have
    yet; its submodules import without it (their parent only needs `__path__`)."""

    _lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        with _DeferredPackage._lock:
            if not self.__dict__.get("_flow_manager_initialised"):
                self.__dict__["_flow_manager_initialised"] = True
                spec = self.__spec__
                assert spec is not None
                assert spec.loader is not None
                spec.loader.exec_module(self)
        return object.__getattribute__(self, name)


def defer_package_init(names: tuple[str, ...] = DEFERRED_PACKAGES) -> None:
    """Register each package (not imported yet) so that its __init__ runs on first use."""
    for name in names:
        if name in sys.modules:
            continue  # imported already: nothing left to save
        spec = importlib.util.find_spec(name)
        if spec is None or spec.submodule_search_locations is None:
            continue
        module = importlib.util.module_from_spec(spec)
        module.__class__ = _DeferredPackage
        sys.modules[name] = module


def share_service_models() -> Callable[[], None]:
    """Load each botocore service model once per kind of loader in this process; returns
    the function that undoes it.

    The stack's own clients, moto's backends' session and moto's loader
    (`moto.core.utils.create_loader`, one per call) each have a botocore Loader, and each
    parsed the same service models again: ~0.4 s of a 1.7 s start went to loading them,
    Step Functions' up to three times. A Loader merges its own extras into a model
    (botocore's `sdk-extras`, moto's `moto-extras`) and searches its own paths, so a
    model is shared between loaders that find the same file and the same extras for it:
    of the services the stack uses, moto's and botocore's differ only for S3, and kept
    10 MB of models twice in
    serve (tracemalloc). Data that takes no extras (`endpoints`: 6.9 MB parsed,
    `partitions`) is shared by the file it came from. botocore shares both that way
    within one Loader already (`instance_cache`), and only reads them."""
    from botocore.loaders import Loader

    original_model = Loader.load_service_model
    original_data = Loader.load_data_with_path
    models: dict[tuple[Any, ...], Any] = {}
    identities: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    data: dict[str, tuple[Any, str]] = {}
    where: dict[tuple[Any, ...], str | None] = {}
    # Reentrant: a model's load reads its data through load_data_with_path. Held while
    # parsing, so two threads asking at once parse once (it is GIL-bound anyway).
    lock = threading.RLock()

    def found(self: Loader, name: str) -> str | None:
        """The file `name` comes from for this loader (its private search: no stubs);
        remembered, as moto makes a Loader per request."""
        key = (type(self.file_loader), tuple(self.search_paths), name)
        if key not in where:
            loader: Any = self
            paths = loader._potential_locations(name)
            where[key] = next((path for path in paths if self.file_loader.exists(path)), None)
        return where[key]

    def identity(self: Loader, service_name: str, type_name: str, version: str) -> tuple[Any, ...]:
        """The model file this loader finds, and the extras it merges into it."""
        loader: Any = self
        extras = loader._find_extras(service_name, type_name, version)  # small, or none
        path = found(self, os.path.join(service_name, version, type_name))
        return (path, *(json.dumps(e, sort_keys=True) for e in extras))

    def load_service_model(
        self: Loader, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        key = (
            type(self),
            tuple(self.extras_types),
            tuple(self.search_paths),
            service_name,
            type_name,
            api_version,
        )
        with lock:
            if key in identities:
                return models[identities[key]]
            if service_name not in self.list_available_services(type_name):
                return original_model(self, service_name, type_name, api_version)  # raises
            version = api_version or self.determine_latest_version(service_name, type_name)
            same = identity(self, service_name, type_name, version)
            if same not in models:
                models[same] = original_model(self, service_name, type_name, api_version)
            identities[key] = same
            return models[same]

    def load_data_with_path(self: Loader, name: str) -> tuple[Any, str]:
        if "/" in name:  # a model's file: its extras are merged into what it returns
            loaded: tuple[Any, str] = original_data(self, name)
            return loaded
        path = found(self, name)
        if path is None:
            missing: tuple[Any, str] = original_data(self, name)  # it raises
            return missing
        with lock:
            if path not in data:
                data[path] = original_data(self, name)
            return data[path]

    Loader.load_service_model = load_service_model  # type: ignore[method-assign]
    Loader.load_data_with_path = load_data_with_path  # type: ignore[method-assign]

    def uninstall() -> None:
        Loader.load_service_model = original_model  # type: ignore[method-assign]
        Loader.load_data_with_path = original_data  # type: ignore[method-assign]

    return uninstall


def install() -> Callable[[], None]:
    """Cache ASL parse trees, JSONPath expressions and boto3 clients in moto's interpreter."""
    undo = [
        _cache_asl_programs(),
        _cache_json_paths(),
        _share_clients(),
        _cache_module_list(),
        _cache_action_names(),
    ]

    def uninstall() -> None:
        for step in reversed(undo):
            step()

    return uninstall


def _cache_asl_programs() -> Callable[[], None]:
    from moto.stepfunctions.parser.asl.component.component import Component
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    original = AmazonStateLanguageParser.__dict__["parse"]

    @functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
    def parse(definition: str) -> tuple[EvalComponent, Any]:
        # lru_cache does not cache an exception: a bad definition raises every time.
        program, tree = original.__func__(definition)
        _fix_heap_keys(program, Component)
        return program, tree

    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]

    def uninstall() -> None:
        AmazonStateLanguageParser.parse = original  # type: ignore[method-assign]
        parse.cache_clear()

    return uninstall


def _fix_heap_keys(root: object, component: type) -> None:
    """Give every component its `heap_key` now, before executions share it.

    A component draws its key (where Retry keeps its attempt count in an execution's
    Environment) on first use; two executions drawing it at once could each see a
    different key. Drawn here, once, it is the same for all.
    """
    seen: set[int] = set()
    pending: list[object] = [root]
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, component):
            if hasattr(type(item), "heap_key"):
                getattr(item, "heap_key")  # noqa: B009 (the property draws and keeps the key)
            pending.extend(getattr(item, "__dict__", {}).values())


def _cache_json_paths() -> Callable[[], None]:
    import importlib

    originals: list[tuple[Any, Any]] = []
    for name in _PATH_MODULES:
        module = importlib.import_module(name)
        parse = vars(module)["parse"]
        originals.append((module, parse))
        setattr(module, "parse", functools.lru_cache(maxsize=JSONPATH_CACHE_SIZE)(parse))  # noqa: B010

    def uninstall() -> None:
        for module, parse in originals:
            setattr(module, "parse", parse)  # noqa: B010

    return uninstall


def _share_clients() -> Callable[[], None]:
    import importlib

    import boto3
    from botocore.config import Config
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    clients: dict[tuple[str, str, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        # As moto's own boto_client_for, once per (service, region, endpoint).
        endpoint = "" if botocore_stubber.enabled else f"http://127.0.0.1:{moto_server_port()}"
        key = (service, region, endpoint)
        with lock:
            found = clients.get(key)
            if found is None:
                found = clients[key] = boto3.session.Session().client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    aws_access_key_id="ak",
                    aws_secret_access_key="sk",
                    endpoint_url=endpoint or None,
                    config=Config(
                        parameter_validation=False,
                        retries={"max_attempts": 0, "total_max_attempts": 1},
                        connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                        read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                        max_pool_connections=CLIENT_POOL_CONNECTIONS,
                    ),
                )
        return found

    originals: list[tuple[Any, Any]] = []
    for name in _CLIENT_MODULES:
        module = importlib.import_module(name)
        originals.append((module, vars(module)["boto_client_for"]))
        setattr(module, "boto_client_for", boto_client_for)  # noqa: B010

    def uninstall() -> None:
        for module, original in originals:
            setattr(module, "boto_client_for", original)  # noqa: B010
        with lock:
            clients.clear()

    return uninstall


def _cache_action_names() -> Callable[[], None]:
    from moto.core import responses

    namespace = vars(responses)  # the module's globals: the name call_action calls
    original = namespace["method_names_from_class"]

    @functools.cache
    def method_names_from_class(clazz: object) -> frozenset[str]:
        # Only ever asked whether an action is among them (BaseResponse.call_action).
        return frozenset(original(clazz))

    namespace["method_names_from_class"] = method_names_from_class

    def uninstall() -> None:
        namespace["method_names_from_class"] = original

    return uninstall


def _cache_module_list() -> Callable[[], None]:
    from moto import backends

    original = backends.list_of_moto_modules
    modules = tuple(original())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    backends.list_of_moto_modules = list_of_moto_modules

    def uninstall() -> None:
        backends.list_of_moto_modules = original

    return uninstall

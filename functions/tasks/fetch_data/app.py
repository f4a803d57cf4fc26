"""Task kind `fetch_data` (aliases `task1`, `extract`): the records a flow works on.

Where the records come from, first match wins:

1. `parameters.records`: a list given in the flow definition;
2. `context.records`: a list given when the execution starts;
3. `parameters.url`: an http(s) GET answering JSON, either a list or an object
   holding the list under `records`, `items`, `data` or `results`. Only the flow's
   own parameters turn on a network fetch: a context's `source_url` (seed 000's
   example) is recorded as the records' source, not fetched, so the seeds' payloads
   run anywhere, offline included;
4. otherwise a generated sample: `count` records (parameters.count, else
   context.count, default 10, at most 1000) derived from `batch_id` (context.batch_id,
   else parameters.batch_id, default "sample"). The same batch_id always gives the
   same records, so flows run offline and tests need no network.

Which URLs are fetched (DESIGN §11): http and https only, and only from public hosts.
The host is resolved first; if any of its addresses is loopback, link-local
(169.254.0.0/16: the instance metadata service), private, reserved, multicast,
unspecified or otherwise not public (IPv4-mapped IPv6 judged as its IPv4 address),
the task fails saying which, without connecting. FETCH_ALLOWED_HOSTS (the template's
FetchAllowedHosts: host names and CIDR networks, e.g. "127.0.0.0/8 intranet.example")
allows such hosts. The connection goes to the address that was checked, not to a new
DNS answer, and a redirect (at most 5) is checked like the first URL.

Other parameters: `timeout_seconds` (the GET's, default 10), `limit` (keep the first
N records). Records that are not JSON objects are wrapped as `{"value": <item>}`.

Returns `{"source", "count", "records"}` (plus `url` or `batch_id`). Fails (status
"failure") when the records are not a list, there are more than 1000 (set `limit`),
the URL is refused, or it answers 4xx or something that is not JSON records. Raises
`SourceUnavailable` when the URL cannot be reached or answers 5xx, so the task's
`retry` policy applies.

Demo parameters (also accepted as `context.demo.<task name>`), see
functions/tasks/README.md: `fail`, `raise`, `fail_attempts`, `sleep_seconds`; and seed
001's `failure_rate` (0..1).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from typing import TYPE_CHECKING, Any, NamedTuple

from flow_manager.demo_switches import apply_demo_parameters, apply_failure_rate
from flow_manager.task_kinds import FetchDataParameters
from flow_manager.tasks import TaskFailure, TaskInput, task_handler

if TYPE_CHECKING:
    from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

    IPAddress = IPv4Address | IPv6Address
    IPNetwork = IPv4Network | IPv6Network

DEFAULT_COUNT = 10
MAX_RECORDS = 1000
DEFAULT_BATCH_ID = "sample"
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_TIMEOUT_SECONDS = 25.0
MAX_RESPONSE_BYTES = 1_000_000
CATEGORIES = ("alpha", "beta", "gamma")
LIST_KEYS = ("records", "items", "data", "results")
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
# Host names and networks (CIDR) fetched although not public: the template's
# FetchAllowedHosts, e.g. "127.0.0.0/8 internal.example.com". Empty: public hosts only.
ALLOWED_HOSTS_VARIABLE = "FETCH_ALLOWED_HOSTS"


class SourceUnavailable(Exception):
    """The URL could not be read now (network, timeout, 5xx): worth retrying."""


# Its parameters as GET /tasks shows them (flow_manager.task_kinds).
PARAMETERS = FetchDataParameters


@task_handler
def lambda_handler(task: TaskInput) -> dict[str, Any]:
    apply_demo_parameters(task)
    apply_failure_rate(task)
    params = task.parameters
    if "records" in params:
        return _answer("parameters", _records(params["records"], "parameters.records"), params)
    if task.context_value("records") is not None:
        records = _records(task.context_value("records"), "context.records")
        return _answer("context", records, params)
    url = params.get("url")
    if url is not None:
        records = _records(_get_json_records(url, params), "the URL's records")
        return {**_answer("url", records, params), "url": url}
    batch_id = str(task.context_value("batch_id") or params.get("batch_id") or DEFAULT_BATCH_ID)
    count = _count(params.get("count", task.context_value("count", DEFAULT_COUNT)))
    answer = {**_answer("generated", generate(batch_id, count), params), "batch_id": batch_id}
    source_url = task.context_value("source_url")
    return answer if source_url is None else {**answer, "source_url": source_url}


def generate(batch_id: str, count: int) -> list[dict[str, Any]]:
    """`count` sample records, a pure function of (batch_id, position)."""
    records = []
    for index in range(count):
        digest = hashlib.sha256(f"{batch_id}:{index}".encode()).digest()
        records.append(
            {
                "id": f"{batch_id}-{index + 1:04d}",
                "batch_id": batch_id,
                "index": index,
                "category": CATEGORIES[digest[4] % len(CATEGORIES)],
                "value": int.from_bytes(digest[:4], "big") % 10_000 / 10,
            }
        )
    return records


def _answer(source: str, records: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    limit = params.get("limit")
    if limit is not None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise TaskFailure(f"limit must be a whole number >= 0, got {limit!r}")
        records = records[:limit]
    if len(records) > MAX_RECORDS:
        raise TaskFailure(
            f"{len(records)} records; a task passes at most {MAX_RECORDS} along "
            "(set parameters.limit, or store them elsewhere and pass where)"
        )
    return {"source": source, "count": len(records), "records": records}


def _records(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise TaskFailure(f"{where} must be a list of records, got {type(value).__name__}")
    return [item if isinstance(item, dict) else {"value": item} for item in value]


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_RECORDS:
        raise TaskFailure(f"count must be a whole number from 0 to {MAX_RECORDS}, got {value!r}")
    return value


def _get_json_records(url: Any, params: dict[str, Any]) -> Any:
    """GET `url` (following redirects that pass the same checks) and return its list of
    records. http.client and ipaddress are imported only when a flow fetches."""
    timeout = params.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    if not _is_number(timeout) or not 0 < timeout <= MAX_TIMEOUT_SECONDS:
        raise TaskFailure(
            f"timeout_seconds must be a number from 0 to {MAX_TIMEOUT_SECONDS:g}, got {timeout!r}"
        )
    if not isinstance(url, str):
        raise TaskFailure(f"the URL must be an http(s) URL, got {url!r}")
    allowed = _allowed_hosts(os.environ.get(ALLOWED_HOSTS_VARIABLE, ""))
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        target = _checked_target(current, allowed)
        status, reason, location, body = _get(target, float(timeout))
        if status in REDIRECTS and location:
            from urllib.parse import urljoin

            current = urljoin(current, location)
            continue
        break
    else:
        raise TaskFailure(f"GET {url} redirected more than {MAX_REDIRECTS} times")
    if status >= 500:
        raise SourceUnavailable(f"GET {current} answered {status} {reason}")
    if status >= 300:
        raise TaskFailure(f"GET {current} answered {status} {reason}")
    if len(body) > MAX_RESPONSE_BYTES:
        raise TaskFailure(f"GET {current} answered more than {MAX_RESPONSE_BYTES} bytes")
    try:
        document = json.loads(body)
    except ValueError:
        raise TaskFailure(f"GET {current} did not answer JSON") from None
    if isinstance(document, dict):
        for key in LIST_KEYS:
            if isinstance(document.get(key), list):
                return document[key]
        raise TaskFailure(
            f"GET {current} answered an object without a list under {', '.join(LIST_KEYS)}"
        )
    return document


# ---- which hosts may be fetched (DESIGN §11) -------------------------------------------


class _Allowed(NamedTuple):
    """FETCH_ALLOWED_HOSTS: host names and networks fetched even though not public."""

    names: frozenset[str]
    networks: tuple[IPNetwork, ...]


class _Target(NamedTuple):
    url: str
    https: bool
    host: str
    port: int
    path: str
    address: str  # the checked address: the connection goes there, not to a new lookup


def _allowed_hosts(text: str) -> _Allowed:
    import ipaddress

    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.lower().rstrip("."))
    return _Allowed(frozenset(names), tuple(networks))


def _checked_target(url: str, allowed: _Allowed) -> _Target:
    """Where `url` may be fetched from: refused (TaskFailure) unless it is http(s) and
    every address its host resolves to is public, or allowed by the stack."""
    import ipaddress
    import socket
    from urllib.parse import urlsplit

    split = urlsplit(url)
    if split.scheme not in ("http", "https"):
        raise TaskFailure(f"the URL must be an http(s) URL, got {url!r}")
    host = split.hostname
    if not host:
        raise TaskFailure(f"the URL has no host: {url!r}")
    try:
        port = split.port or (443 if split.scheme == "https" else 80)
    except ValueError:
        raise TaskFailure(f"the URL's port is not a port number: {url!r}") from None
    try:
        # An IP literal resolves to itself without any network traffic.
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise SourceUnavailable(f"GET {url} failed: cannot resolve {host}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    if not addresses:
        raise SourceUnavailable(f"GET {url} failed: {host} has no address")
    name_allowed = host.lower().rstrip(".") in allowed.names
    for text in addresses:
        address = _unmapped(ipaddress.ip_address(text))
        kind = _not_public(address)
        if kind is None or name_allowed or any(address in n for n in allowed.networks):
            continue
        raise TaskFailure(
            f"GET {url} refused: {host} is {kind} ({address}); only public hosts are "
            f"fetched unless the stack allows them (template parameter FetchAllowedHosts)"
        )
    path = split.path or "/"
    return _Target(
        url=url,
        https=split.scheme == "https",
        host=host,
        port=port,
        path=f"{path}?{split.query}" if split.query else path,
        address=addresses[0],
    )


def _unmapped(address: IPAddress) -> IPAddress:
    """::ffff:169.254.169.254 is 169.254.169.254: judge IPv4-mapped IPv6 as IPv4."""
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


def _not_public(address: IPAddress) -> str | None:
    """Why fetching from `address` is refused, or None for a public unicast address."""
    checks = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address (e.g. the instance metadata service)"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, kind in checks:
        if getattr(address, attribute):
            return kind
    return None if address.is_global else "not a public address"


def _get(target: _Target, timeout: float) -> tuple[int, str, str | None, bytes]:
    """One GET, connected to the address that was checked (no second DNS lookup that
    could answer differently); TLS still verifies the certificate for the host name."""
    import http.client

    connection = _connection_class(target.https)(
        target.host, target.port, timeout=timeout, pinned_address=target.address
    )
    try:
        connection.request(
            "GET",
            target.path,
            headers={"Accept": "application/json", "User-Agent": "flow-manager-fetch-data/1"},
        )
        response = connection.getresponse()
        body = response.read(MAX_RESPONSE_BYTES + 1)
        return response.status, response.reason, response.getheader("Location"), body
    except (OSError, http.client.HTTPException) as exc:
        raise SourceUnavailable(f"GET {target.url} failed: {exc}") from None
    finally:
        connection.close()


@functools.cache
def _connection_class(https: bool) -> type[Any]:
    import http.client
    import socket
    import ssl

    class PinnedHTTPConnection(http.client.HTTPConnection):
        def __init__(self, host: str, port: int, *, timeout: float, pinned_address: str):
            super().__init__(host, port, timeout=timeout)
            self.pinned_address = pinned_address

        def connect(self) -> None:
            self.sock = socket.create_connection((self.pinned_address, self.port), self.timeout)

    class PinnedHTTPSConnection(PinnedHTTPConnection):
        default_port = 443

        def connect(self) -> None:
            super().connect()
            context = ssl.create_default_context()
            self.sock = context.wrap_socket(self.sock, server_hostname=self.host)

    return PinnedHTTPSConnection if https else PinnedHTTPConnection


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

"""A small HTTP client for the Flow Manager API: the local stack or a deployed stage.

urllib only. Requests to a non-local endpoint are signed with SigV4 (service
`execute-api`) from the usual AWS credential chain, as the deployed API requires
(AuthMode=IAM). Every failure becomes an `ApiUnavailable` or an `ApiResponse` with
its status: callers decide what an error status means, and nothing here prints a
traceback for a refused connection or a bad URL.
"""

from __future__ import annotations

import json
import os
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

LOCAL_ENDPOINT = "http://127.0.0.1:3000"
ENDPOINT_VARIABLE = "FLOW_MANAGER_URL"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0")
DEFAULT_TIMEOUT_SECONDS = 35.0  # API Gateway answers within 29 s or says 504


class ApiUnavailable(Exception):
    """The API could not be reached or answered something that is not HTTP."""


class SigningError(Exception):
    """A deployed endpoint needs signed requests and there are no credentials to sign with."""


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: Mapping[str, str]
    body: Any  # parsed JSON, or the text when it is not JSON, or None when empty
    text: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    @property
    def error(self) -> dict[str, Any]:
        """The project's error body `{"error": {code, message, details}}`, however it came."""
        body = self.body
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return dict(body["error"])
        if isinstance(body, dict) and "message" in body:  # API Gateway's own errors
            return {"code": f"HTTP{self.status}", "message": str(body["message"])}
        return {"code": f"HTTP{self.status}", "message": self.text[:300] or "no body"}

    def error_line(self) -> str:
        error = self.error
        return f"{self.status} {error.get('code')}: {error.get('message')}"


def default_endpoint(explicit: str | None = None) -> str:
    return (explicit or os.environ.get(ENDPOINT_VARIABLE) or LOCAL_ENDPOINT).rstrip("/")


def is_local(endpoint: str) -> bool:
    host = urlsplit(endpoint).hostname or ""
    return host in LOCAL_HOSTS or host.endswith(".localhost")


def check_endpoint(endpoint: str) -> str | None:
    """Why `endpoint` is not a usable base URL, or None when it is."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL: {endpoint!r} (e.g. {LOCAL_ENDPOINT})"
    if parts.query or parts.fragment:
        return f"the endpoint must not have a query or fragment: {endpoint!r}"
    return None


@dataclass
class SigV4Signer:
    """Signs requests for API Gateway's IAM auth from the default credential chain."""

    region: str
    _credentials: Any = field(default=None, repr=False)

    @classmethod
    def for_endpoint(cls, endpoint: str) -> SigV4Signer:
        import botocore.session

        session = botocore.session.Session()
        host = urlsplit(endpoint).hostname or ""
        # https://{api-id}.execute-api.{region}.amazonaws.com/{stage}
        found = re.match(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com", host)
        region = found.group(1) if found else session.get_config_variable("region")
        if not region:
            raise SigningError(
                f"cannot tell the region of {endpoint}: set AWS_REGION (or AWS_DEFAULT_REGION)"
            )
        credentials = session.get_credentials()
        if credentials is None:
            raise SigningError(
                f"{endpoint} needs SigV4-signed requests and no AWS credentials were found "
                "(aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
            )
        return cls(region=region, _credentials=credentials)

    def sign(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> None:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers))
        SigV4Auth(self._credentials.get_frozen_credentials(), "execute-api", self.region).add_auth(
            request
        )
        headers.clear()
        headers.update({k: str(v) for k, v in request.headers.items()})


class ApiClient:
    def __init__(
        self,
        endpoint: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        signer: SigV4Signer | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self.signer = signer

    @classmethod
    def connect(
        cls, endpoint: str | None = None, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> ApiClient:
        """A client for `endpoint` (or FLOW_MANAGER_URL, or the local stack), signing if remote."""
        url = default_endpoint(endpoint)
        problem = check_endpoint(url)
        if problem:
            raise ApiUnavailable(problem)
        signer = None if is_local(url) else SigV4Signer.for_endpoint(url)
        return cls(url, timeout=timeout, signer=signer)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str | None] | None = None,
    ) -> ApiResponse:
        url = self.endpoint + path
        pairs = {k: v for k, v in (query or {}).items() if v is not None}
        if pairs:
            url += "?" + urlencode(pairs, quote_via=quote)
        data = None if body is None else json.dumps(body).encode()
        all_headers = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        if self.signer is not None:
            self.signer.sign(method, url, all_headers, data)
        request = urllib.request.Request(url, data=data, headers=all_headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return _response(answer.status, dict(answer.headers.items()), answer.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return _response(exc.code, dict(exc.headers.items()), exc.read())
        except urllib.error.URLError as exc:
            raise ApiUnavailable(_unreachable(self.endpoint, exc.reason)) from None
        except TimeoutError:
            raise ApiUnavailable(
                f"{self.endpoint} did not answer {method} {path} within {self.timeout:.0f} s"
            ) from None
        except (OSError, ValueError) as exc:  # reset connections, malformed responses
            raise ApiUnavailable(f"{method} {url} failed: {exc}") from None

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, body=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> ApiResponse:
        return self.request("PUT", path, body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("DELETE", path, **kwargs)


def segment(value: str) -> str:
    """A path segment, escaped: ids come from users."""
    return quote(value, safe="")


def _response(status: int, headers: dict[str, str], raw: bytes) -> ApiResponse:
    text = raw.decode("utf-8", errors="replace")
    body: Any = None
    if text:
        try:
            body = json.loads(text)
        except ValueError:
            body = text
    return ApiResponse(status, headers, body, text)


def _unreachable(endpoint: str, reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        hint = " (start the local stack with `make run`)" if is_local(endpoint) else ""
        return f"cannot reach the Flow Manager API at {endpoint}: connection refused{hint}"
    if isinstance(reason, socket.gaierror):
        return f"cannot reach the Flow Manager API at {endpoint}: unknown host"
    return f"cannot reach the Flow Manager API at {endpoint}: {reason}"

"""moto's server application, without Flask on the hot services' request path.

moto serves each service as a Flask app, chosen per request by its
`DomainDispatcherApplication`, which matches the request's host against every
backend's URL patterns. Under load (py-spy of serve during benchmarks/throughput.py)
that plumbing, Flask's request context, its CORS after-request hook and the host
matching, took more of serve's CPU than the backends' own work. For the services the
functions call on every execution (`LEAN_SERVICES`) this app does for a request what
moto's Flask app does: the same URL rules pick the same view, which is called as
moto's `convert_to_flask_response` calls it, and its answer is written the same way.
Any other service (moto's own API and dashboard included), and any request from a
browser (it has an `Origin`, and needs the CORS headers moto's Flask apps add), still
goes through Flask. The one difference for the SDKs: Flask's `Access-Control-Allow-
Origin: *` on every answer, which only a browser reads, is not added.

The host a request names decides its backend and nothing else does, so that match is
made once per host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

LEAN_SERVICES = frozenset({"dynamodb", "s3", "stepfunctions"})

StartResponse = Callable[..., Any]


class LeanDispatcher:
    """A WSGI app in place of moto's `DomainDispatcherApplication(create_backend_app)`."""

    def __init__(self, dispatcher: DomainDispatcherApplication) -> None:
        self._dispatcher = dispatcher
        self._lean: dict[int, _LeanApp | None] = {}  # by id() of moto's Flask app
        matched: dict[str | None, Any] = {}
        find = dispatcher.get_backend_for_host

        def get_backend_for_host(host: str | None) -> Any:
            if host not in matched:
                matched[host] = find(host)
            return matched[host]

        # Called under the dispatcher's lock, so the dict needs none of its own.
        dispatcher.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        app = self._dispatcher.get_application(environ)
        if "HTTP_ORIGIN" in environ:  # a page's script: it needs moto's CORS headers
            return app(environ, start_response)
        key = id(app)
        if key not in self._lean:  # apps live as long as the dispatcher: ids stay theirs
            service = getattr(app, "service", None)
            self._lean[key] = _LeanApp(app) if service in LEAN_SERVICES else None
        lean = self._lean[key]
        if lean is None:
            return app(environ, start_response)
        return lean(environ, start_response)


class _LeanApp:
    """One service's moto Flask app, its views called without Flask around them."""

    def __init__(self, app: Flask) -> None:
        from botocore.exceptions import ClientError
        from flask import Response
        from moto.core.request import normalize_request
        from moto.core.utils import convert_to_flask_response
        from moto.moto_api import recorder
        from moto.moto_server.werkzeug_app import BackendRequest
        from werkzeug.exceptions import HTTPException

        self._client_error = ClientError
        self._normalize = normalize_request
        self._recorder = recorder
        self._http_exception = HTTPException
        self._app = app
        self._map = app.url_map
        self._callbacks = {
            endpoint: view.callback
            for endpoint, view in app.view_functions.items()
            if isinstance(view, convert_to_flask_response)
        }
        self._request_class = BackendRequest
        self._response_class = Response

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # As Flask binds its map (create_url_adapter): no server name, no subdomain.
        adapter = self._map.bind_to_environ(environ, server_name=None, subdomain="")
        try:
            endpoint, _ = adapter.match()
        except self._http_exception as exc:  # no rule: the same 404 or 405 Flask answers
            return exc(environ, start_response)
        callback = self._callbacks.get(str(endpoint))
        if callback is None:
            return self._app(environ, start_response)
        # What convert_to_flask_response.__call__ does, with the request made here.
        request = self._normalize(self._request_class(environ))
        try:
            self._recorder._record_request(request)
            try:
                result = callback(request, request.raw_url, dict(request.headers))
            except self._client_error as exc:
                result = 400, {}, exc.response["Error"]["Message"]
            except self._http_exception as exc:  # moto's own errors (S3's): Flask answers them
                return exc(environ, start_response)
            if len(result) == 3:
                status, headers, content = result
            else:
                status, headers, content = 200, {}, result
            response = self._response_class(response=content, status=status, headers=headers)
            if request.method == "HEAD" and "content-length" in headers:
                response.headers["Content-Length"] = headers["content-length"]
            return response(environ, start_response)
        finally:
            request.close()  # as Flask's teardown does: spooled uploads are files

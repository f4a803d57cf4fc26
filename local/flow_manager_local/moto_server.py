"""moto in server mode on loopback, in this process (imported only when the stack starts:
moto, Flask and boto3 take ~1 s to import, which the function workers use to warm).

moto's own `ThreadedMotoServer` serves its WSGI app with werkzeug's development server,
which answers every request with `Connection: close` and runs it in a new thread: each
AWS call a function makes paid a TCP connection, a thread, and the GIL hand-offs of
both, ~4 ms idle and ~44 ms under load for a ListTables (benchmarks). waitress serves
the same app with keep-alive connections and a fixed pool of threads.

The pool is safe because no request to moto waits for another one: a flow's Lambda
invokes no longer go through moto's server (moto_lambda calls the workers directly),
so a task's own calls to moto never queue behind the invoke that runs it. An invoke
that only moto's Lambda API handles (a qualifier, a log tail) still does, and holds a
thread while its handler runs: THREADS of them at once would stall.
"""

from __future__ import annotations

import logging
import threading

THREADS = 32  # requests moto serves at once (it holds the GIL for most of each)
CONNECTIONS = 1000  # keep-alive connections: every client's pool (boto3 keeps up to 10 each)


class MotoServer:
    """moto's WSGI app under waitress on `ip_address:port` (0: a free port), in a daemon
    thread; binding fails (OSError) in the constructor, before anything runs."""

    def __init__(self, ip_address: str, port: int) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from waitress.server import TcpWSGIServer, create_server

        from flow_manager_local.moto_dispatch import LeanDispatcher

        app = LeanDispatcher(DomainDispatcherApplication(create_backend_app))
        server = create_server(
            app,
            host=ip_address,
            port=port,
            threads=THREADS,
            connection_limit=CONNECTIONS,
            asyncore_use_poll=True,  # select() fails past 1024 descriptors
            ident="moto",
        )
        # One address (loopback), so one socket; several would make a MultiSocketServer.
        assert isinstance(server, TcpWSGIServer)
        self._server = server
        self._thread: threading.Thread | None = None

    def get_host_and_port(self) -> tuple[str, int]:
        listening = self._server.socket
        assert listening is not None  # bound in the constructor
        host, port = listening.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> None:
        # waitress warns when requests queue for a thread: the load is what the stack
        # is for (benchmarks/throughput.py), not something to log every second.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        self._thread = threading.Thread(target=self._server.run, name="moto", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the listening socket, then every kept-alive connection (so the loop
        thread ends), and stop the pool's threads."""
        self._server.close()
        for channel in list(vars(self._server)["_map"].values()):  # waitress: its channels
            channel.handle_close()
        self._server.task_dispatcher.shutdown(timeout=5)
        if self._thread is not None:
            self._thread.join(5)

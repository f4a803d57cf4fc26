"""moto in server mode on loopback, in this process (imported only when the stack starts:
moto, Flask and boto3 take ~1 s to import, which the function workers use to warm)."""

from __future__ import annotations

import threading

from moto.server import ThreadedMotoServer

START_SECONDS = 30.0


class MotoServer(ThreadedMotoServer):
    """ThreadedMotoServer whose start() fails instead of waiting forever on a bind error."""

    def __init__(self, ip_address: str, port: int) -> None:
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self.error: BaseException | None = None

    def _server_entry(self) -> None:
        try:
            super()._server_entry()
        except BaseException as exc:  # reported by start(), in the caller's thread
            self.error = exc
            self._server_ready_event.set()

    def start(self) -> None:
        """Serve in a daemon thread; TimeoutError if it is not up within START_SECONDS."""
        self._thread = threading.Thread(target=self._server_entry, name="moto", daemon=True)
        self._thread.start()
        if not self._server_ready_event.wait(START_SECONDS):
            raise TimeoutError(f"moto did not start within {START_SECONDS:.0f} s")
        if self.error is not None:
            raise self.error

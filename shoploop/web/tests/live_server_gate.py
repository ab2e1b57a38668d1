"""A gate in front of pytest-django's live server, so that a browser test ends before its data goes.

The live server answers in threads of its own, and on SQLite they share the test's in-memory
connection. A page still open when a test ends (its notification bell retries its WebSocket every
few seconds) lands requests on that connection while the test's teardown empties the tables:
SQLite refuses ``DELETE FROM accounts_user`` with "database table is locked" while a request reads
it, the flush fails, and the next test starts on the previous test's rows. Between tests the gate
is closed: requests already in flight are waited for, and new ones get a 503 without touching the
database.
"""

import threading

DRAIN_LIMIT_SECONDS = 30


class LiveServerGate:
    """A WSGI wrapper that counts the requests its application is handling.

    A request's database work ends when the application returns: views render before they
    return, and the only streamed bodies are files from storage (share posters), so the body
    sent afterwards needs no count."""

    def __init__(self, app):
        self.app = app
        self._changed = threading.Condition()
        self._in_flight = 0
        self._open = True

    def __call__(self, environ, start_response):
        with self._changed:
            if not self._open:
                start_response(
                    "503 Service Unavailable",
                    [("Content-Type", "text/plain"), ("Connection", "close")],
                )
                return [b"Between tests: no request reaches the database."]
            self._in_flight += 1
        try:
            return self.app(environ, start_response)
        finally:
            self._leave()

    def open(self) -> None:
        with self._changed:
            self._open = True

    def close_and_drain(self) -> None:
        """Turns new requests away and returns once every request in flight has finished."""
        with self._changed:
            self._open = False
            drained = self._changed.wait_for(
                lambda: self._in_flight == 0, timeout=DRAIN_LIMIT_SECONDS
            )
        if not drained:
            raise RuntimeError(
                f"{self._in_flight} live-server request(s) still running "
                f"{DRAIN_LIMIT_SECONDS} s after the test ended"
            )

    @property
    def in_flight(self) -> int:
        with self._changed:
            return self._in_flight

    def _leave(self) -> None:
        with self._changed:
            self._in_flight -= 1
            self._changed.notify_all()


def install_gate(live_server) -> LiveServerGate:
    """Puts a gate in front of ``live_server``'s application once and returns it."""
    server = live_server.thread.httpd
    app = server.get_app()
    if isinstance(app, LiveServerGate):
        return app
    gate = LiveServerGate(app)
    server.set_app(gate)
    return gate

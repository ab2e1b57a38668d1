"""The gate the browser tests put in front of the live server: a test's teardown empties the
database only once no request of that test is still reading it."""

import threading
from types import SimpleNamespace

import pytest

from shoploop.web.tests import live_server_gate
from shoploop.web.tests.live_server_gate import LiveServerGate, install_gate


class BlockingApp:
    """A WSGI application that holds each request until ``release`` is set."""

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        self.entered.set()
        self.release.wait()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]


def _start_response_log():
    statuses = []

    def start_response(status, headers):
        statuses.append(status)

    return statuses, start_response


def _request_in_thread(gate):
    statuses, start_response = _start_response_log()
    thread = threading.Thread(target=gate, args=({}, start_response))
    thread.start()
    return thread, statuses


def test_draining_waits_for_the_request_in_flight():
    app = BlockingApp()
    gate = LiveServerGate(app)
    request, statuses = _request_in_thread(gate)
    assert app.entered.wait(5)
    drained = threading.Event()
    drainer = threading.Thread(target=lambda: (gate.close_and_drain(), drained.set()))
    drainer.start()

    drainer.join(0.2)
    assert not drained.is_set() and gate.in_flight == 1

    app.release.set()
    request.join(5)
    drainer.join(5)
    assert drained.is_set() and gate.in_flight == 0
    assert statuses == ["200 OK"]


def test_a_closed_gate_turns_requests_away_without_the_application():
    app = BlockingApp()
    gate = LiveServerGate(app)
    gate.close_and_drain()
    statuses, start_response = _start_response_log()

    body = gate({}, start_response)

    assert statuses == ["503 Service Unavailable"] and b"".join(body)
    assert app.calls == 0 and gate.in_flight == 0


def test_an_opened_gate_lets_requests_through_again():
    app = BlockingApp()
    app.release.set()
    gate = LiveServerGate(app)
    gate.close_and_drain()
    gate.open()
    statuses, start_response = _start_response_log()

    assert gate({}, start_response) == [b"done"]
    assert statuses == ["200 OK"] and app.calls == 1


def test_a_request_that_raises_is_no_longer_in_flight():
    def broken(environ, start_response):
        raise RuntimeError("boom")

    gate = LiveServerGate(broken)
    with pytest.raises(RuntimeError):
        gate({}, _start_response_log()[1])
    assert gate.in_flight == 0
    gate.close_and_drain()


def test_a_request_that_never_ends_fails_the_teardown_by_name(monkeypatch):
    monkeypatch.setattr(live_server_gate, "DRAIN_LIMIT_SECONDS", 0.05)
    app = BlockingApp()
    gate = LiveServerGate(app)
    request, _ = _request_in_thread(gate)
    assert app.entered.wait(5)
    try:
        with pytest.raises(RuntimeError, match="1 live-server request"):
            gate.close_and_drain()
    finally:
        app.release.set()
        request.join(5)


def test_the_gate_is_installed_once_in_front_of_the_server_application():
    class Server:
        def __init__(self, app):
            self.app = app

        def get_app(self):
            return self.app

        def set_app(self, app):
            self.app = app

    def application(environ, start_response):
        return []

    live_server = SimpleNamespace(thread=SimpleNamespace(httpd=Server(application)))
    gate = install_gate(live_server)
    assert live_server.thread.httpd.app is gate and gate.app is application
    assert install_gate(live_server) is gate

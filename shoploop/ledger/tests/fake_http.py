"""Provider HTTP faked at the transport: ``requests``' adapter is replaced, so the SDKs build,
sign and send their real requests, and nothing leaves the machine. A request nobody expected
fails the test."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from requests.structures import CaseInsensitiveDict

Handler = Callable[[requests.PreparedRequest], tuple[int, dict | str, dict[str, str]]]


@dataclass
class FakeHTTP:
    routes: list[tuple[str, str, Handler]] = field(default_factory=list)
    sent: list[requests.PreparedRequest] = field(default_factory=list)

    def on(self, method: str, url_prefix: str, handler: Handler) -> None:
        """Answer ``method url_prefix…`` with ``handler(request) -> (status, json, headers)``."""
        self.routes.insert(0, (method, url_prefix, handler))

    def send(self, request, **kwargs) -> requests.Response:
        self.sent.append(request)
        for method, prefix, handler in self.routes:
            if request.method == method and request.url.startswith(prefix):
                status, body, headers = handler(request)
                return _response(request, status, body, headers)
        raise AssertionError(f"unexpected HTTP call: {request.method} {request.url}")

    def bodies(self, url_prefix: str) -> list[dict]:
        return [json.loads(r.body) for r in self.sent if r.url.startswith(url_prefix) and r.body]


def _response(request, status: int, body: dict | str, headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    text = body if isinstance(body, str) else json.dumps(body)
    response._content = text.encode()
    response.headers = CaseInsensitiveDict({"Content-Type": "application/json", **headers})
    response.url = request.url
    response.request = request
    response.encoding = "utf-8"
    return response


def install(monkeypatch) -> FakeHTTP:
    fake = FakeHTTP()
    monkeypatch.setattr(
        requests.adapters.HTTPAdapter, "send", lambda adapter, request, **kw: fake.send(request)
    )
    return fake

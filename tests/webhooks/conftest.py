"""Fixtures of the webhook tests: a real HTTP receiver on 127.0.0.1, a clock the test moves, and the worker's run."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from webhooks import services
from webhooks.choices import EventType


class Receiver:
    """An HTTP server in a thread that records every POST and answers with the codes it is told, then 200."""

    def __init__(self):
        self.requests: list[dict] = []
        self.codes: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    code = receiver.codes.pop(0) if receiver.codes else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/rollcall"

    def payloads(self) -> list[dict]:
        return [json.loads(request["body"]) for request in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


class Clock:
    """django.utils.timezone.now, moved by the test (the queue's run_after and the backoff read it)."""

    def __init__(self):
        self.now = timezone.now()

    def advance(self, **delta):
        self.now += timedelta(**delta)

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(timezone, "now", clock)
    return clock


ALL_EVENTS = list(EventType.values)


@pytest.fixture
def subscribe(user):
    """Subscribe the receiver (or any URL) to events: returns (subscription, secret)."""

    def make(url: str, events=None, format: str = "json", name: str = "CI"):
        return services.subscription_create(
            name=name, target_url=url, events=events or ALL_EVENTS, format=format, user=user
        )

    return make

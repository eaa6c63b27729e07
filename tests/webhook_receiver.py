"""A real HTTP receiver for webhook deliveries: a small threaded ``http.server`` on a
free port that records every request and answers as the test scripts it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hotlead_app.devstack.embedded import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def delivery_id(self) -> str:
        return self.headers.get("hotlead-delivery", "")


@dataclass
class Answer:
    """How to answer one request: wait ``delay`` seconds (or until ``release`` is set),
    then answer ``status``."""

    status: int = 200
    delay: float = 0.0
    release: threading.Event | None = None


@dataclass
class Receiver:
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    script: list[Answer] = field(default_factory=list)  # consumed in order, then `default`
    default: Answer = field(default_factory=Answer)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    answer = receiver.script.pop(0) if receiver.script else receiver.default
                if answer.release is not None:
                    answer.release.wait(60)
                elif answer.delay:
                    threading.Event().wait(answer.delay)
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender gave up (timeout) or died
                    pass

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ids(self) -> list[str]:
        with self._lock:
            return [r.delivery_id for r in self.received]

    def reset(self, *script: Answer, default: Answer | None = None) -> None:
        with self._lock:
            self.received.clear()
            self.script[:] = list(script)
            self.default = default or Answer()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

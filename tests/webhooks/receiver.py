"""A real HTTP receiver on 127.0.0.1 that checks signatures the way a dealer's CRM would (its
own HMAC code, not ours), and can be told to fail, or be stopped and started again."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    event_id: str
    event_type: str
    body: dict[str, Any]
    verified: bool


@dataclass
class Receiver:
    secret: str
    port: int = 0
    status: int = 200  # what to answer to a correctly signed request
    answer: bytes = b"nope"  # the body of an answer other than 200
    deliveries: list[Delivery] = field(default_factory=list)
    requests: int = 0
    hosts: list[str] = field(default_factory=list)  # each request's Host header
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/paddock"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                verified = check(receiver.secret, raw, self.headers.get("Paddock-Signature", ""))
                with receiver._lock:
                    receiver.requests += 1
                    receiver.hosts.append(self.headers.get("Host", ""))
                    status = receiver.status if verified else 400
                    if status == 200:
                        receiver.deliveries.append(
                            Delivery(
                                self.headers.get("Paddock-Event-Id", ""),
                                self.headers.get("Paddock-Event-Type", ""),
                                json.loads(raw),
                                verified,
                            )
                        )
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                if 300 <= status < 400:
                    self.send_header("Location", receiver.url + "/elsewhere")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else receiver.answer)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: the port refuses connections until `start` again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def types(self) -> list[str]:
        return [d.event_type for d in self.deliveries]


def check(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """Verify `t=<unix>,v1=<hex>` over "<t>.<body>" with HMAC-SHA256, as documented."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        stamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - stamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))

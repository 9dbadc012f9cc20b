"""A real HTTP receiver on loopback, in a thread, that records what it is sent."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    peer_port: int = 0  # the sender's port: which process sent it (psutil.net_connections)


@dataclass
class Receiver:
    """What a receiver got, and how it answers: ``answer(received) -> status`` (200 unless
    set); ``location`` is sent with a 3xx."""

    url: str
    received: list[Received] = field(default_factory=list)
    answer: Callable[[Received], int] = lambda received: 200
    location: str = ""
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.received)} request(s) received, {count} expected")


@contextmanager
def receiver_running(path: str = "/hook") -> Iterator[Receiver]:
    """Serve on 127.0.0.1 (a free port) until the block ends."""
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # connections kept alive, as a production server keeps them

        def do_POST(self) -> None:
            receiver = state["receiver"]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if len(body) < length:
                # The sender went (a worker killed mid-batch) before its request's end: not a
                # request a server would take, nor answer.
                self.close_connection = True
                return
            received = Received(
                self.path,
                {name.lower(): value for name, value in self.headers.items()},
                body,
                time.monotonic(),
                self.client_address[1],
            )
            with receiver.lock:
                receiver.received.append(received)
            if receiver.delay:
                time.sleep(receiver.delay)
            status = receiver.answer(received)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", receiver.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_port}{path}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["receiver"]
    finally:
        server.shutdown()
        server.server_close()

"""A real HTTP receiver on 127.0.0.1 for the webhook tests: it answers what it is told
(200, 500, 429 with Retry-After, 410, or hangs), keeps every request it got and the most
requests it had in hand at once for each path."""

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    hang_seconds: float = 0.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> Any:
        """The payload, if `secret` signed it (standardwebhooks raises otherwise)."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    def __init__(self) -> None:
        self.answers: deque[Answer] = deque()
        self.default = Answer()
        self.received: list[Received] = []
        self.got_request = threading.Event()
        self.most_at_once: dict[str, int] = {}
        self._in_hand: dict[str, int] = {}
        self._counting = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._counting:
                    receiver.received.append(Received(self.path, headers, body))
                    answer = receiver.answers.popleft() if receiver.answers else receiver.default
                    in_hand = receiver._in_hand.get(self.path, 0) + 1
                    receiver._in_hand[self.path] = in_hand
                    most = max(in_hand, receiver.most_at_once.get(self.path, 0))
                    receiver.most_at_once[self.path] = most
                receiver.got_request.set()
                try:
                    if answer.hang_seconds:
                        time.sleep(answer.hang_seconds)
                    self._answer(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender went away meanwhile (a worker killed mid-delivery)
                finally:
                    with receiver._counting:
                        receiver._in_hand[self.path] -= 1

            def _answer(self, answer: Answer) -> None:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def answer(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    def start(self) -> "Receiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""A real local webhook receiver (http.server on 127.0.0.1, an ephemeral port, in a thread) and
a real local SMTP server (aiosmtpd), for the notification tests and the benchmark."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Arrival:
    headers: dict
    body: bytes
    at: float  # time.time() when the request arrived


@dataclass
class Receiver:
    """Records every request; answers with `statuses` in turn (then 200), after `delay` s."""

    statuses: list = field(default_factory=list)
    delay: float = 0.0
    arrivals: list = field(default_factory=list)
    busy: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/registry"

    def ids(self) -> list[str]:
        return [a.headers["webhook-id"] for a in self.arrivals]

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                receiver.arrivals.append(
                    Arrival({k.lower(): v for k, v in self.headers.items()}, body, time.time())
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.busy.set()
                try:
                    if receiver.delay:
                        time.sleep(receiver.delay)
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender was killed mid-request
                finally:
                    receiver.busy.clear()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """aiosmtpd's handler: keeps every message it is sent."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope)
        return "250 OK"

"""Outbound requests to people's URLs: pinned to the checked address, bounded in time and size."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from jobs import outbound


class _Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        _Handler.seen.append((self.path, self.headers.get("host", "")))
        if self.path == "/drip":
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(600):  # a byte every 50 ms, for 30 s: an answer that never ends
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                return
        body = b"e" * 1_000_000
        self.send_response(500)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_pinning_keeps_the_name_for_host_and_tls() -> None:
    url, headers, extensions = outbound._pinned(
        "https://hooks.example.com:8443/in?x=1", "93.184.216.34"
    )
    assert url == "https://93.184.216.34:8443/in?x=1"
    assert headers == {"Host": "hooks.example.com:8443"}
    assert extensions == {"sni_hostname": "hooks.example.com"}
    url, headers, extensions = outbound._pinned("http://hooks.example.com/in", "2606:2800::1")
    assert url == "http://[2606:2800::1]/in" and headers == {"Host": "hooks.example.com"}
    assert extensions == {}


async def test_the_request_goes_to_the_checked_address_not_a_new_lookup(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The name does not resolve at all: only the pinned address can be reached.
    port = server.split(":")[1]
    monkeypatch.setattr(outbound, "public_address", lambda url, allow_private: "127.0.0.1")
    answer = await outbound.post(
        f"http://hooks.invalid:{port}/pinned", b"{}", {}, timeout_s=10, allow_private=False
    )
    assert answer.status == 500
    assert ("/pinned", f"hooks.invalid:{port}") in _Handler.seen


async def test_an_answer_is_read_only_so_far_and_only_so_long(server: str) -> None:
    answer = await outbound.post(
        f"http://{server}/big", b"{}", {}, timeout_s=10, allow_private=True
    )
    assert answer.status == 500 and len(answer.head) == outbound.MAX_ANSWER_BYTES
    with pytest.raises(TimeoutError):
        await outbound.post(f"http://{server}/drip", b"{}", {}, timeout_s=1, allow_private=True)

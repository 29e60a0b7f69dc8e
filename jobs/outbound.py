"""Outbound HTTP to addresses people give us (webhooks): public hosts only, the checked address
pinned for the connection, the answer bounded in time and size."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

# Enough of an answer to tell a person why their endpoint refused; the rest is never read.
MAX_ANSWER_BYTES = 1024


class PrivateDestination(ValueError):
    """The URL leads into the server's own network."""


def public_address(url: str, *, allow_private: bool) -> str | None:
    """The checked address to connect to for `url`, or None to connect by name (private
    addresses allowed). Refuses a host that resolves to a loopback, private, link-local or
    otherwise non-public address, so nobody can make the server probe its own network."""
    if allow_private:
        return None
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise PrivateDestination(f"the host {host!r} of {url!r} does not resolve ({exc})") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    for address in addresses:
        if not address.is_global or address.is_multicast:
            raise PrivateDestination(
                f"{url!r} leads to {address}, which is not a public address; webhooks may only "
                "call public hosts (SKYIE_WEBHOOK_ALLOW_PRIVATE=true allows private ones)"
            )
    return str(addresses[0])


def check_destination(url: str, *, allow_private: bool) -> None:
    public_address(url, allow_private=allow_private)


@dataclass(frozen=True)
class Answer:
    status: int
    head: str  # the first MAX_ANSWER_BYTES of the body, as text


def _pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """`url` with its host replaced by the checked address, the Host header and the TLS name
    to keep: a second DNS answer (rebinding) never gets a say."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1]}
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), headers, extensions


async def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout_s: float, allow_private: bool
) -> Answer:
    """POST without following redirects; the whole exchange, not each read, is bounded by
    `timeout_s`. Raises PrivateDestination, httpx errors or TimeoutError."""
    address = await asyncio.to_thread(public_address, url, allow_private=allow_private)
    target, extensions = url, dict[str, str]()
    if address is not None:
        target, host_header, extensions = _pinned(url, address)
        headers = {**headers, **host_header}
    async with asyncio.timeout(timeout_s):
        async with httpx.AsyncClient(timeout=timeout_s, follow_redirects=False) as client:
            request = client.build_request(
                "POST", target, content=body, headers=headers, extensions=extensions
            )
            response = await client.send(request, stream=True)
            try:
                head = b""
                async for chunk in response.aiter_raw():
                    head += chunk
                    if len(head) >= MAX_ANSWER_BYTES:
                        break
            finally:
                await response.aclose()
    return Answer(response.status_code, head[:MAX_ANSWER_BYTES].decode(errors="replace"))

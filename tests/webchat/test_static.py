"""The web chat is served by the API app itself, loads nothing from the network, and needs no
build: every file the page can load is in webchat/static, as written."""

from __future__ import annotations

import re

import httpx

from tests.conftest import Stack
from webchat.app import STATIC, create_studio_app


async def test_the_page_and_its_modules_are_served_with_a_strict_policy(
    sqlite_stack: Stack,
) -> None:
    app = create_studio_app(sqlite_stack.settings, run_worker=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://studio.test") as client:
        r = await client.get("/")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        policy = r.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        for path in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
            asset = await client.get(path)
            assert asset.status_code == 200, path
        r = await client.get("/static/js/app.js")
        assert r.headers["content-type"].split(";")[0] in (
            "text/javascript",
            "application/javascript",
        )
        # The reset link in the password email opens the same page.
        assert (await client.get("/reset-password?token=x")).status_code == 200
        # The API is untouched by the page: no policy header, its own errors.
        r = await client.get("/v1/me")
        assert r.status_code == 401 and "content-security-policy" not in r.headers


def test_no_file_of_the_page_points_at_another_host() -> None:
    external = re.compile(r"""(?:src|href|url|import|from)\s*[=(]?\s*["']?(?:https?:)?//""")
    for path in STATIC.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".js", ".css", ".svg"):
            text = path.read_text()
            # SVG's own namespace is an identifier, not something loaded.
            text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
            assert not external.search(text), f"{path.relative_to(STATIC)} loads from the network"

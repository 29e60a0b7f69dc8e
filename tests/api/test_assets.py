"""Assets over HTTP: uploads sniffed and size-limited while streaming, Range downloads, deletes,
bad uploads that leave nothing behind, and one person's ids that are 404 to everyone else."""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from core.db import get_database
from core.models import Asset, AssetKind, Job
from tests.api.conftest import Api, Caller
from tests.conftest import Stack
from tests.jobs.helpers import context, make_user
from tests.media.conftest import make_media
from tools.assets import add_asset

ROUTES = {
    "avatar": "/v1/assets/avatars",
    "voice": "/v1/assets/voices",
    "video": "/v1/assets/videos",
}


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Real files made with Pillow and ffmpeg, and broken ones made from them."""
    folder = tmp_path_factory.mktemp("asset-media")
    png = io.BytesIO()
    Image.new("RGB", (256, 320), (200, 150, 120)).save(png, "PNG")
    jpeg = io.BytesIO()
    Image.new("RGB", (200, 200), "navy").save(jpeg, "JPEG")
    voice = make_media(folder / "voice.wav", "-f", "lavfi", "-i", "sine=f=220:d=4")
    video = make_media(
        folder / "clip.mp4",
        *("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=2"),
        *("-f", "lavfi", "-i", "sine=f=440:d=2"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"),
        *("-movflags", "+faststart"),
    )
    whole = video.read_bytes()
    # Index written last (no faststart): cut short, the file has no index at all.
    plain = make_media(
        folder / "plain.mp4",
        *("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=2"),
        *("-c:v", "libx264", "-preset", "ultrafast"),
    ).read_bytes()
    return {
        "png": png.getvalue(),
        "jpeg": jpeg.getvalue(),
        "wav": voice.read_bytes(),
        "mp4": whole,
        # The header (moov) is whole, the media data is cut: ffmpeg alone would accept it.
        "truncated_mp4": whole[: len(whole) * 2 // 3],
        "truncated_plain_mp4": plain[: len(plain) // 2],
        "elf": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x90" * 2000,
    }


def tree(api: Api) -> set[str]:
    """Everything under the store, temp folders included."""
    root = api.settings.storage_dir
    return {str(p.relative_to(root)) for p in root.rglob("*")}


async def asset_rows(api: Api, caller: Caller) -> int:
    async with get_database(api.settings.resolved_database_url).session() as s:
        count = await s.scalar(select(func.count()).where(Asset.user_id == caller.id))
    return int(count or 0)


async def upload(
    api: Api, caller: Caller, kind: str, name: str, data: bytes, **form: str
) -> tuple[int, dict[str, Any]]:
    r = await api.client.post(
        ROUTES[kind],
        headers=caller.headers,
        files={"file": (name, data, "application/octet-stream")},
        data=form,
    )
    return r.status_code, r.json()


async def test_each_kind_uploads_and_downloads_whole_and_by_range(
    api_on: Api, media: dict[str, bytes]
) -> None:
    api = api_on
    caller = await api.register()
    cases = [
        ("avatar", "me.png", media["png"], {}, "image/png", ".png"),
        ("voice", "my voice.wav", media["wav"], {"consent": "true"}, "audio/wav", ".wav"),
        ("video", "clip.mp4", media["mp4"], {}, "video/mp4", ".mp4"),
    ]
    for kind, name, data, form, content_type, ext in cases:
        status, body = await upload(api, caller, kind, name, data, **form)
        assert status == 201, body
        assert body["kind"] == kind and body["name"] == name and body["size"] == len(data)
        assert body["content_type"] == content_type
        asset_id = str(body["id"])
        # Stored under the generated id: the sender's name is a label, never a path.
        stored = api.settings.storage_dir / f"{kind}s" / caller.id / f"{asset_id}{ext}"
        assert stored.read_bytes() == data
        r = await api.client.get(str(body["content_url"]), headers=caller.headers)
        assert r.status_code == 200 and r.content == data
        assert r.headers["content-type"].startswith(content_type)
        assert r.headers["accept-ranges"] == "bytes"
        ranged = {**caller.headers, "Range": "bytes=100-499"}
        r = await api.client.get(f"/v1/assets/{asset_id}/content", headers=ranged)
        assert r.status_code == 206
        assert r.headers["content-range"] == f"bytes 100-499/{len(data)}"
        assert r.content == data[100:500]
        past_the_end = {**caller.headers, "Range": f"bytes={len(data) + 10}-"}
        r = await api.client.get(f"/v1/assets/{asset_id}/content", headers=past_the_end)
        assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(data)}"
        assert r.json()["error"]["code"] == "range_not_satisfiable"
        malformed = {**caller.headers, "Range": "pages=1-2"}
        r = await api.client.get(f"/v1/assets/{asset_id}/content", headers=malformed)
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_range"
    meta = {b["kind"]: b["meta"] for b in (await list_all(api, caller))}
    assert meta["avatar"] == {"width": 256, "height": 320}
    assert meta["voice"]["consent"] is True and meta["voice"]["consent_at"]
    assert meta["voice"]["duration_s"] == pytest.approx(4.0, abs=0.1)
    assert meta["video"]["duration_s"] == pytest.approx(2.0, abs=0.1)
    assert (meta["video"]["width"], meta["video"]["height"]) == (160, 120)
    r = await api.client.get("/v1/assets", params={"kind": "voice"}, headers=caller.headers)
    assert [item["kind"] for item in r.json()["items"]] == ["voice"]


async def list_all(api: Api, caller: Caller) -> list[dict[str, Any]]:
    r = await api.client.get("/v1/assets", params={"limit": 2}, headers=caller.headers)
    page = r.json()
    items: list[dict[str, Any]] = page["items"]
    while page["next_cursor"]:
        r = await api.client.get(
            "/v1/assets", params={"limit": 2, "cursor": page["next_cursor"]}, headers=caller.headers
        )
        page = r.json()
        items += page["items"]
    return items


async def test_the_type_comes_from_the_content_never_the_name_or_header(
    api: Api, media: dict[str, bytes]
) -> None:
    caller = await api.register()
    status, body = await upload(api, caller, "avatar", "holiday.png", media["jpeg"])
    assert status == 201 and body["content_type"] == "image/jpeg"
    r = await api.client.get(f"/v1/assets/{body['id']}/content", headers=caller.headers)
    assert r.headers["content-disposition"] == 'inline; filename="holiday.jpg"'
    assert r.headers["x-content-type-options"] == "nosniff"
    # A real picture named and labelled as a video is still a picture: not a video.
    r = await api.client.post(
        ROUTES["video"],
        headers=caller.headers,
        files={"file": ("clip.mp4", media["png"], "video/mp4")},
    )
    assert r.status_code == 415 and "not an MP4, MOV or WebM" in r.json()["error"]["message"]


async def test_a_voice_is_kept_only_with_consent(api: Api, media: dict[str, bytes]) -> None:
    caller = await api.register()
    before = tree(api)
    for form, words in (({"consent": "false"}, "consent"), ({}, "'consent' is required")):
        status, body = await upload(api, caller, "voice", "v.wav", media["wav"], **form)
        assert status == 422 and words in str(body["error"]["message"])
    status, body = await upload(api, caller, "voice", "v.wav", media["wav"], consent="maybe")
    assert status == 422
    assert tree(api) == before and await asset_rows(api, caller) == 0


BAD_UPLOADS = [
    ("empty", "avatar", "me.png", "png", b"", 422, "empty (0 bytes)"),
    ("executable", "avatar", "photo.png", "elf", None, 415, "cannot be read as an image"),
    ("traversal", "avatar", "../../etc/passwd.png", "png", None, 422, "looks like a path"),
    ("backslashes", "avatar", "..\\..\\win.ini.png", "png", None, 422, "looks like a path"),
    ("truncated", "video", "cut.mp4", "truncated_mp4", None, 422, "is truncated"),
    ("truncated, index last", "video", "cut.mp4", "truncated_plain_mp4", None, 422, "truncated"),
    ("empty video", "video", "clip.mp4", "mp4", b"", 422, "empty (0 bytes)"),
    ("picture as video", "video", "clip.mp4", "png", None, 415, "not an MP4"),
    ("not a recording", "voice", "v.wav", "elf", None, 415, "not a recording"),
]


@pytest.mark.parametrize(
    ("kind", "name", "source", "raw", "status", "words"),
    [case[1:] for case in BAD_UPLOADS],
    ids=[case[0] for case in BAD_UPLOADS],
)
async def test_a_bad_upload_gets_a_clear_4xx_and_leaves_nothing_behind(
    api: Api,
    media: dict[str, bytes],
    kind: str,
    name: str,
    source: str,
    raw: bytes | None,
    status: int,
    words: str,
) -> None:
    caller = await api.register()
    before = tree(api)
    data = media[source] if raw is None else raw
    form = {"consent": "true"} if kind == "voice" else {}
    got, body = await upload(api, caller, kind, name, data, **form)
    assert got == status, body
    assert words in str(body["error"]["message"])
    assert tree(api) == before and await asset_rows(api, caller) == 0


def raw_form(filename: bytes, data: bytes, boundary: bytes = b"XyZ") -> bytes:
    return (
        b"--" + boundary + b"\r\n"
        b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n'
        b"Content-Type: image/png\r\n\r\n" + data + b"\r\n--" + boundary + b"--\r\n"
    )


async def test_names_with_control_characters_and_malformed_bodies_are_refused(
    api: Api, media: dict[str, bytes]
) -> None:
    caller = await api.register()
    before = tree(api)
    multipart = {**caller.headers, "Content-Type": "multipart/form-data; boundary=XyZ"}
    cases = [
        (raw_form(b"a\x00b.png", media["png"]), multipart, 422, "control characters"),
        (raw_form(b"a\x1b[2Jb.png", media["png"]), multipart, 422, "control characters"),
        (raw_form(b"\xe2\x80\xaegnp.exe", media["png"]), multipart, 422, "control characters"),
        (b"this is not multipart at all", multipart, 422, "malformed"),
        (raw_form(b"me.png", media["png"])[:-10], multipart, 422, "closing boundary"),
        (b"--XyZ--\r\n", multipart, 422, "no file sent"),
        (media["png"], {**caller.headers, "Content-Type": "image/png"}, 415, "multipart"),
        (b"", {**caller.headers, "Content-Type": "multipart/form-data"}, 422, "boundary"),
    ]
    for body, headers, status, words in cases:
        r = await api.client.post(ROUTES["avatar"], headers=headers, content=body)
        assert r.status_code == status, (body[:40], r.text)
        assert words in r.json()["error"]["message"], r.text
    twice = raw_form(b"a.png", media["png"])[: -len(b"--XyZ--\r\n")] + raw_form(b"b.png", b"x")
    r = await api.client.post(ROUTES["avatar"], headers=multipart, content=twice)
    assert r.status_code == 422 and "one avatar image per upload" in r.json()["error"]["message"]
    assert tree(api) == before and await asset_rows(api, caller) == 0


async def test_an_upload_over_the_limit_is_cut_off_while_it_streams(api: Api) -> None:
    caller = await api.register()
    api.app.state.settings = api.settings.model_copy(update={"max_avatar_mb": 1})
    before = tree(api)
    big = io.BytesIO()
    Image.frombytes("RGB", (700, 700), random.Random(0).randbytes(700 * 700 * 3)).save(big, "PNG")
    assert 2**20 < len(big.getvalue()) < 2 * 2**20
    status, body = await upload(api, caller, "avatar", "big.png", big.getvalue())
    assert status == 413 and "larger than the 1 MB limit" in str(body["error"])
    chunk = 64 * 1024
    sent = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n\r\n'
        for _ in range(64):  # 4 MB on offer
            sent += 1
            yield b"\x89" * chunk

    headers = {**caller.headers, "Content-Type": "multipart/form-data; boundary=XyZ"}
    # Without a length: read only up to the limit, then cut off.
    r = await api.client.post(ROUTES["avatar"], headers=headers, content=stream())
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert sent <= 2**20 // chunk + 1
    # Declaring a length past the limit: refused before one chunk of the file is read.
    sent = 0
    declared = {**headers, "Content-Length": str(64 * chunk + 100)}
    r = await api.client.post(ROUTES["avatar"], headers=declared, content=stream())
    assert r.status_code == 413 and sent == 0
    assert tree(api) == before and await asset_rows(api, caller) == 0


async def test_delete_removes_the_file_but_not_while_a_job_waits_for_it(
    api: Api, media: dict[str, bytes]
) -> None:
    caller = await api.register()
    _, avatar = await upload(api, caller, "avatar", "me.png", media["png"])
    _, voice = await upload(api, caller, "voice", "me.wav", media["wav"], consent="yes")
    async with get_database(api.settings.resolved_database_url).session() as s:
        job = Job(
            user_id=caller.id,
            script_text="[TALKING] Hello.",
            credits=0,
            status="queued",
            options={"avatar_asset_id": avatar["id"], "voice": voice["id"]},
        )
        s.add(job)
    for asset in (avatar, voice):
        r = await api.client.delete(f"/v1/assets/{asset['id']}", headers=caller.headers)
        assert r.status_code == 409 and r.json()["error"]["code"] == "asset_in_use"
        assert job.id in r.json()["error"]["message"]
    async with get_database(api.settings.resolved_database_url).session() as s:
        (await s.get(Job, job.id)).status = "succeeded"
    files = {p for p in api.settings.storage_dir.rglob("*") if p.is_file()}
    for asset in (avatar, voice):
        stored = [p for p in files if p.stem == asset["id"]]
        assert len(stored) == 1
        r = await api.client.delete(f"/v1/assets/{asset['id']}", headers=caller.headers)
        assert r.status_code == 204
        assert not stored[0].exists()
        for path in (f"/v1/assets/{asset['id']}", f"/v1/assets/{asset['id']}/content"):
            assert (await api.client.get(path, headers=caller.headers)).status_code == 404
        r = await api.client.delete(f"/v1/assets/{asset['id']}", headers=caller.headers)
        assert r.status_code == 404
    assert await asset_rows(api, caller) == 0


async def test_another_persons_asset_is_not_found_on_every_route(
    api_on: Api, media: dict[str, bytes]
) -> None:
    api = api_on
    owner, other = await api.register(), await api.register()
    _, body = await upload(api, owner, "avatar", "me.png", media["png"])
    asset_id = body["id"]
    for method, path in (
        ("GET", f"/v1/assets/{asset_id}"),
        ("GET", f"/v1/assets/{asset_id}/content"),
        ("DELETE", f"/v1/assets/{asset_id}"),
    ):
        r = await api.client.request(method, path, headers=other.headers)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["error"]["code"] == "not_found"
    r = await api.client.get("/v1/assets", headers=other.headers)
    assert r.json()["items"] == []
    r = await api.client.get(f"/v1/assets/{asset_id}/content", headers=owner.headers)
    assert r.status_code == 200 and r.content == media["png"]


async def test_the_schema_documents_each_multipart_upload(api: Api) -> None:
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    for route in ROUTES.values():
        body = paths[route]["post"]["requestBody"]
        schema = body["content"]["multipart/form-data"]["schema"]
        assert "file" in schema["required"] and schema["properties"]["file"]["format"] == "binary"
        assert {"413", "415"} <= set(paths[route]["post"]["responses"])
    voice = paths[ROUTES["voice"]]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert "consent" in voice["schema"]["required"]


async def test_a_stored_file_goes_when_its_row_is_rolled_back(
    sqlite_stack: Stack, media: dict[str, bytes], tmp_path: Path
) -> None:
    settings = sqlite_stack.settings
    user = await make_user(settings)
    source = tmp_path / "me.png"
    source.write_bytes(media["png"])
    avatars = settings.storage_dir / "avatars" / user

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with get_database().session() as s:
            await add_asset(context(settings, s, user), AssetKind.avatar, source, "me.png")
            assert len(list(avatars.iterdir())) == 1
            raise Boom
    assert list(avatars.iterdir()) == []
    # A savepoint that rolls back takes its file with it; the outer transaction's file stays.
    async with get_database().session() as s:
        kept = await add_asset(context(settings, s, user), AssetKind.avatar, source, "a.png")
        with pytest.raises(Boom):
            async with s.begin_nested():
                await add_asset(context(settings, s, user), AssetKind.avatar, source, "b.png")
                raise Boom
    assert [p.name for p in avatars.iterdir()] == [Path(kept.storage_key).name]
    assert source.read_bytes() == media["png"]  # a caller's own file is copied, never taken

"""The fake Telegram answers the real python-telegram-bot the way Telegram does."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)

from tests.bots import fake_telegram as fake_module
from tests.bots.fake_telegram import FakeTelegram
from tests.bots.fake_telegram_types import parse_html

fake_telegram = fake_module.fake_telegram


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in buttons]])


def png(width: int = 640, height: int = 480) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
async def ptb(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    fake = fake_telegram
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as ptb:
        yield ptb


async def test_get_me_and_a_wrong_token(fake_telegram: FakeTelegram, ptb: Bot) -> None:
    me = await ptb.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "skyie_test_bot", True)
    wrong = Bot("123456:WRONG", base_url=fake_telegram.base_url)
    with pytest.raises(InvalidToken):
        await wrong.get_me()


async def test_unknown_methods_and_parameters_are_refused(ptb: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await ptb.do_api_request("sendPigeon")
    with pytest.raises(BadRequest, match=r'(?i)unknown parameter "colour"'):
        await ptb.get_me(api_kwargs={"colour": "blue"})


async def test_send_then_edit_a_message(fake_telegram: FakeTelegram, ptb: Bot) -> None:
    ada = fake_telegram.user("Ada")
    fake_telegram.send_text(ada, "/start")
    sent = await ptb.send_message(
        ada.id, "<b>Hi</b> &amp; welcome", parse_mode="HTML", reply_markup=keyboard(("Go", "go"))
    )
    assert (sent.message_id, sent.text) == (2, "Hi & welcome")  # /start was message 1
    assert sent.from_user is not None and sent.from_user.username == "skyie_test_bot"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 2)]
    shown = fake_telegram.last(ada)
    assert shown is not None and shown.text == "Hi & welcome" and shown.parse_mode == "HTML"
    assert fake_telegram.buttons(shown) == [[("Go", "go")]]

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await ptb.edit_message_text(
            "<b>Hi</b> &amp; welcome", ada.id, sent.message_id, parse_mode="HTML",
            reply_markup=keyboard(("Go", "go")),
        )  # fmt: skip
    edited = await ptb.edit_message_text("Rendering…", ada.id, sent.message_id)
    assert (
        isinstance(edited, Message) and edited.text == "Rendering…" and edited.edit_date is not None
    )
    # An edit without reply_markup takes the keyboard away, as at Telegram.
    assert shown.text == "Rendering…" and fake_telegram.buttons(shown) == []
    assert [state["text"] for state in shown.history] == ["Hi & welcome"]
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await ptb.edit_message_text("again", ada.id, 99)
    assert await ptb.delete_message(ada.id, sent.message_id)
    assert fake_telegram.chat(ada) == []


async def test_who_the_bot_may_write_to(fake_telegram: FakeTelegram, ptb: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await ptb.send_message(42, "hello")
    shy = fake_telegram.user("Shy")
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await ptb.send_message(shy.id, "hello")


async def test_telegram_limits(fake_telegram: FakeTelegram, ptb: Bot) -> None:
    ada = fake_telegram.user()
    fake_telegram.send_text(ada, "hi")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: Can't find end tag"):
        await ptb.send_message(ada.id, "<b>bold", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r'(?i)unmatched end tag .*expected "</i>"'):
        await ptb.send_message(ada.id, "<b>bold <i>both</b></i>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await ptb.send_message(ada.id, "1 < 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r'(?i)Unsupported start tag "div"'):
        await ptb.send_message(ada.id, "<div>x</div>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await ptb.send_message(ada.id, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await ptb.send_message(ada.id, "<b> </b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await ptb.send_message(ada.id, "pick", reply_markup=keyboard(("A", "a" * 65)))
    link = InlineKeyboardMarkup([[InlineKeyboardButton("Open", url="http://localhost:8000/x")]])
    with pytest.raises(BadRequest, match=r"(?i)Wrong HTTP URL"):
        await ptb.send_message(ada.id, "open", reply_markup=link)
    assert fake_telegram.chat(ada) == []  # nothing refused was stored


def test_html_entities_count_utf16_units() -> None:
    text, entities = parse_html('🎬 <a href="https://x.io/?a=1&amp;b=2">film</a> &lt;3')
    assert text == "🎬 film <3"
    assert entities == [
        {"type": "text_link", "offset": 3, "length": 4, "url": "https://x.io/?a=1&b=2"}
    ]


async def test_flood_answers_retry_after(
    fake_telegram: FakeTelegram, ptb: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # retry_after as a timedelta, without warnings
    ada = fake_telegram.user()
    fake_telegram.send_text(ada, "hi")
    fake_telegram.flood("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter) as raised:
        await ptb.send_message(ada.id, "one")
    assert raised.value.retry_after == dtm.timedelta(seconds=3)
    await ptb.send_message(ada.id, "one")
    assert [call.status for call in fake_telegram.calls if call.method == "sendMessage"] == [
        429,
        200,
    ]


async def test_block_and_dropped_connections(fake_telegram: FakeTelegram, ptb: Bot) -> None:
    ada = fake_telegram.user()
    fake_telegram.send_text(ada, "hi")
    fake_telegram.fail("sendMessage")
    with pytest.raises(NetworkError):
        await ptb.send_message(ada.id, "lost")
    await ptb.send_message(ada.id, "delivered")
    fake_telegram.block(ada)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await ptb.send_message(ada.id, "are you there?")
    with pytest.raises(ValueError, match="blocked the bot"):
        fake_telegram.send_text(ada, "hello?")
    assert [m.text for m in fake_telegram.chat(ada)] == ["delivered"]


async def test_long_polling(fake_telegram: FakeTelegram, ptb: Bot) -> None:
    ada = fake_telegram.user("Ada", username="ada")
    started = time.monotonic()
    poll = asyncio.create_task(ptb.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    fake_telegram.send_text(ada, "/start promo")
    updates = await poll
    assert time.monotonic() - started < 2  # answered when the update came, not at the timeout
    message = updates[0].message
    assert message is not None and message.text == "/start promo"
    assert [(e.type, e.length) for e in message.entities] == [("bot_command", 6)]
    assert message.from_user is not None and message.from_user.username == "ada"
    again = await ptb.get_updates(timeout=0)
    assert [u.update_id for u in again] == [updates[0].update_id]  # not confirmed yet
    assert await ptb.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()


async def test_a_photo_from_a_user_can_be_downloaded(fake_telegram: FakeTelegram, ptb: Bot) -> None:
    ada = fake_telegram.user()
    original = png()
    fake_telegram.send_photo(ada, original, caption="my cat")
    (update,) = await ptb.get_updates()
    assert update.message is not None and update.message.caption == "my cat"
    sizes = update.message.photo
    assert [(s.width, s.height) for s in sizes] == [(320, 240), (640, 480)]
    file = await ptb.get_file(sizes[-1].file_id)
    buffer = io.BytesIO()
    await file.download_to_memory(buffer)
    assert buffer.getvalue() == original


async def test_sending_a_video_stores_its_bytes(
    fake_telegram: FakeTelegram, ptb: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    ada = fake_telegram.user()
    fake_telegram.send_text(ada, "render it")
    clip = b"\x00\x00\x00\x18ftypmp42" + bytes(2000)
    sent = await ptb.send_video(
        ada.id, clip, filename="final.mp4", caption="<i>Done</i>", parse_mode="HTML",
        width=1280, height=720, duration=12,
    )  # fmt: skip
    assert sent.video is not None and sent.caption == "Done"
    assert (sent.video.width, sent.video.duration, sent.video.file_size) == (
        1280,
        dtm.timedelta(seconds=12),
        len(clip),
    )
    assert sent.video.mime_type == "video/mp4"
    shown = fake_telegram.last(ada)
    assert shown is not None and shown.data == clip
    assert fake_telegram.calls[-1].files == {"video": "final.mp4"}
    again = await ptb.send_video(ada.id, sent.video.file_id)  # by file_id: no new upload
    assert again.video is not None and again.video.file_id == sent.video.file_id
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await ptb.send_document(ada.id, "no-such-file-id")


async def test_uploads_and_downloads_have_limits(fake_telegram: FakeTelegram, ptb: Bot) -> None:
    ada = fake_telegram.user()
    fake_telegram.send_document(ada, bytes(20 * 1024 * 1024 + 1), "huge.bin", "video/mp4")
    (update,) = await ptb.get_updates()
    assert update.message is not None and update.message.document is not None
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await ptb.get_file(update.message.document.file_id)
    fake_telegram.upload_limit_bytes = 10_000
    with pytest.raises(NetworkError, match=r"(?i)Request Entity Too Large"):
        await ptb.send_document(ada.id, bytes(20_000), filename="big.bin")


async def test_a_callback_query_is_answered_once(fake_telegram: FakeTelegram, ptb: Bot) -> None:
    ada = fake_telegram.user()
    fake_telegram.send_text(ada, "/start")
    await ptb.send_message(ada.id, "Ready?", reply_markup=keyboard(("Yes", "yes"), ("No", "no")))
    message = await fake_telegram.wait_for(lambda: fake_telegram.last(ada))
    with pytest.raises(ValueError, match="no button 'maybe'"):
        fake_telegram.press(ada, message, "maybe")
    query_id = fake_telegram.press(ada, message, "yes")
    updates = await ptb.get_updates()
    query = updates[-1].callback_query
    assert query is not None and (query.id, query.data) == (query_id, "yes")
    assert query.message is not None and query.message.message_id == message.message_id
    assert await ptb.answer_callback_query(query_id, text="Starting")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await ptb.answer_callback_query(query_id)


async def test_a_webhook_receives_updates_with_its_secret(
    fake_telegram: FakeTelegram, ptb: Bot
) -> None:
    received: list[tuple[dict[str, Any], str | None]] = []

    async def hook(request: Request) -> Response:
        received.append(
            (await request.json(), request.headers.get("x-telegram-bot-api-secret-token"))
        )
        return Response(status_code=200)

    config = uvicorn.Config(Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
                            port=0, log_level="warning", lifespan="off")  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        assert await ptb.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        with pytest.raises(Conflict, match=r"(?i)webhook is active"):
            await ptb.get_updates()
        ada = fake_telegram.user()
        sent = fake_telegram.send_text(ada, "hello hook")
        await fake_telegram.wait_for(lambda: received)
        body, secret = received[0]
        assert secret == "s3cret"
        assert body["message"] == {
            **body["message"],
            "message_id": sent.message_id,
            "text": "hello hook",
        }
        assert [d.status for d in fake_telegram.webhook_deliveries] == [200]
        info = await ptb.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
    finally:
        server.should_exit = True
        await serving


async def test_wait_for_shows_the_chats_when_it_gives_up(fake_telegram: FakeTelegram) -> None:
    ada = fake_telegram.user("Ada")
    fake_telegram.send_text(ada, "is anyone there?")
    with pytest.raises(AssertionError, match=r"chat with Ada .*\n  #1 Ada: is anyone there\?"):
        await fake_telegram.wait_for(lambda: fake_telegram.last(ada), timeout=0.1)

"""Recordings offered as the voice of someone's videos: each consent button acts on the very
recording it was shown for, and a button whose recording no longer waits says so."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bots.telegram import media
from core.db import get_database
from core.models import Asset, AssetKind, TelegramAccount
from tests.bots.conftest import Running
from tests.bots.fake_telegram import FakeTelegram
from tests.bots.fake_telegram_types import FakeMessage, FakeUser
from tests.bots.test_bot import callbacks, said, start
from tests.gpu.engines.test_lite_asr import _voice_note

SAY = "I would like my videos to speak with this voice, in a calm and friendly way."


def consent_asked(fake: FakeTelegram, user: FakeUser) -> list[FakeMessage]:
    return [m for m in fake.chat(user) if (m.text or "").startswith("Cloning a voice needs")]


def button(fake: FakeTelegram, message: FakeMessage, choice: str) -> str:
    return next(c for c in callbacks(fake, message) if c.startswith(f"voice:{choice}"))


async def voices(user: FakeUser) -> list[Asset]:
    async with get_database().session(read_only=True) as s:
        account = await s.get(TelegramAccount, user.id)
        assert account is not None
        found = await s.scalars(
            select(Asset).where(
                Asset.user_id == account.user_id, Asset.kind == AssetKind.voice.value
            )
        )
        return list(found)


async def test_the_first_recordings_button_keeps_the_first_recording(
    bot: Running, tmp_path: Path
) -> None:
    fake = bot.fake
    ana = fake.user("Ana")
    await start(fake, ana)
    # Long enough to clone (a voice sample is 3 s at least).
    first = _voice_note(tmp_path / "first", f"this is my own voice, speaking first. {SAY}")
    second = _voice_note(tmp_path / "second", f"and here is a second take, later on. {SAY}")
    first_bytes, second_bytes = first.read_bytes(), second.read_bytes()
    assert first_bytes != second_bytes
    fake.send_audio(ana, first_bytes, "first.ogg", "audio/ogg", duration=3)
    await fake.wait_for(lambda: len(consent_asked(fake, ana)) == 1)
    fake.send_audio(ana, second_bytes, "second.ogg", "audio/ogg", duration=3)
    await fake.wait_for(lambda: len(consent_asked(fake, ana)) == 2)
    asked = consent_asked(fake, ana)
    assert all(len(c.encode()) <= 64 for m in asked for c in callbacks(fake, m))

    fake.press(ana, asked[0], button(fake, asked[0], "yes"))
    await fake.wait_for(lambda: said(fake, ana, "Saved with your consent"), timeout=60)
    (voice,) = await voices(ana)
    assert voice.filename == "first.ogg"
    storage = bot.application.bot_data["deps"].storage
    assert storage.path(voice.storage_key).read_bytes() == first_bytes
    async with get_database().session(read_only=True) as s:
        account = await s.get(TelegramAccount, ana.id)
        assert account is not None and account.state["voice"] == voice.id

    # The second still waits for its own answer.
    fake.press(ana, asked[1], button(fake, asked[1], "no"))
    await fake.wait_for(lambda: said(fake, ana, "not kept as a voice"))
    assert [v.id for v in await voices(ana)] == [voice.id]


async def test_a_button_whose_recording_no_longer_waits_says_so(bot: Running) -> None:
    fake = bot.fake
    ana = fake.user("Ana")
    await start(fake, ana)
    # Only the newest few wait: the first of one more than that has been let go.
    for n in range(media.MAX_PENDING + 1):
        fake.send_audio(ana, f"recording {n}".encode(), f"take-{n}.ogg", "audio/ogg")
        await fake.wait_for(lambda n=n: len(consent_asked(fake, ana)) == n + 1)  # type: ignore[misc]
    oldest = consent_asked(fake, ana)[0]
    fake.press(ana, oldest, button(fake, oldest, "yes"))
    await fake.wait_for(lambda: said(fake, ana, "no longer waiting"))
    await fake.wait_for(lambda: not callbacks(fake, oldest))
    assert await voices(ana) == []
    async with get_database().session(read_only=True) as s:
        account = await s.get(TelegramAccount, ana.id)
        assert account is not None
        assert len(account.state[media.PENDING]) == media.MAX_PENDING
    assert not [c for c in fake.calls if c.method == "getFile"]

"""The bot's account commands: /buy through Stripe Checkout and back to /balance, /jobs and
/cancel, /new, and a presenter photo."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from core.db import get_database
from core.models import Asset, Conversation, Job, JobStatus, TelegramAccount
from tests.api.conftest import Api
from tests.billing.fake_stripe import FakeStripe, signed
from tests.bots.conftest import Running
from tests.bots.test_bot import brief, callbacks, gen, said, start
from tests.bots.test_bot import card as newest_card

SECRET = "whsec_bot_test"
FACE = Path(__file__).resolve().parents[2] / "core" / "assets" / "default_avatar.png"


async def test_buy_a_pack_and_see_the_credits(
    bot: Running, fake_stripe: FakeStripe, api: Api
) -> None:
    fake, settings = bot.fake, bot.settings
    settings.stripe_secret_key = "sk_test_fake"
    settings.stripe_api_base = fake_stripe.url
    settings.stripe_webhook_secret = SECRET
    ana = fake.user("Ana")
    await start(fake, ana)
    fake.send_text(ana, "/buy")
    offer = await fake.wait_for(lambda: said(fake, ana, "Credit packs"))
    assert "buy:pack:small" in callbacks(fake, offer) and "buy:plan:pro" in callbacks(fake, offer)

    fake.press(ana, offer, "buy:pack:small")
    pay = await fake.wait_for(lambda: said(fake, ana, "secure Stripe page"))
    (label, url), = fake.buttons(pay)[0]  # fmt: skip
    assert "Pay" in label and url is not None and url.startswith(fake_stripe.url)
    session_id = url.rsplit("/", 1)[1]

    for event in fake_stripe.complete_checkout(session_id):
        body, headers = signed(event, SECRET)
        r = await api.client.post("/v1/billing/stripe/webhook", content=body, headers=headers)
        assert r.status_code == 200, r.text
    fake.send_text(ana, "/balance")
    balance = await fake.wait_for(lambda: said(fake, ana, r"You have \d+ credits"))
    assert f"You have {settings.starting_credits + 200} credits" in (balance.text or "")


async def test_without_stripe_buy_says_so(bot: Running) -> None:
    fake = bot.fake
    ana = fake.user("Ana")
    await start(fake, ana)
    fake.send_text(ana, "/buy")
    await fake.wait_for(lambda: said(fake, ana, "does not sell credits"))


async def test_jobs_cancel_and_new(bot: Running) -> None:
    fake = bot.fake
    ana = fake.user("Ana")
    await start(fake, ana)
    fake.send_text(ana, "/cancel")
    await fake.wait_for(lambda: said(fake, ana, "Nothing is being made"))
    # A long video, so it is still being made when cancelled.
    shown = await brief(fake, ana, "a 60-second video about the history of tea, with a host")
    fake.press(ana, shown, gen(fake, shown))
    await fake.wait_for(lambda: said(fake, ana, "%|Queued"))
    fake.send_text(ana, "/jobs")
    listing = await fake.wait_for(lambda: said(fake, ana, r"^1\. "))
    cancel = next(c for c in callbacks(fake, listing) if c.startswith("cancel:"))
    fake.press(ana, listing, cancel)
    await fake.wait_for(lambda: said(fake, ana, "Cancelled. Its credits are back"))
    async with get_database().session(read_only=True) as s:
        job = await s.get(Job, cancel.split(":", 1)[1])
        assert job is not None and job.status == JobStatus.cancelled.value
    # The progress message says so too.
    await fake.wait_for(lambda: said(fake, ana, "Cancelled. Its credits were given back"))

    async with get_database().session(read_only=True) as s:
        before = (await s.get(TelegramAccount, ana.id)).conversation_id  # type: ignore[union-attr]
    fake.send_text(ana, "/new")
    await fake.wait_for(lambda: said(fake, ana, "Fresh start"))
    await brief(fake, ana, "a 10-second video about coffee, no host")
    async with get_database().session(read_only=True) as s:
        after = (await s.get(TelegramAccount, ana.id)).conversation_id  # type: ignore[union-attr]
        assert after is not None and after != before
        assert len((await s.scalars(select(Conversation))).all()) == 2


async def test_a_photo_becomes_the_presenter_of_the_draft(bot: Running) -> None:
    fake = bot.fake
    ana = fake.user("Ana")
    await start(fake, ana)
    shown = await brief(fake, ana, "a 20-second video about tea with a friendly host")
    first_quote = gen(fake, shown)
    fake.send_photo(ana, FACE.read_bytes())
    repriced = await fake.wait_for(lambda: said(fake, ana, "This face presents your videos now"))
    # A new presenter is a new quote: the old one priced a video without it.
    assert gen(fake, repriced) != first_quote
    await fake.wait_for(lambda: not callbacks(fake, shown))
    async with get_database().session(read_only=True) as s:
        asset = (await s.scalars(select(Asset))).one()
        account = await s.get(TelegramAccount, ana.id)
        assert account is not None and account.state["avatar"] == asset.id
        conversation = await s.get(Conversation, account.conversation_id)
        assert conversation is not None
        assert conversation.state["options"]["avatar_asset_id"] == asset.id
    # Something that is not a face is refused, and the presenter stays.
    fake.send_document(ana, b"%PDF-1.4 not an image", "cv.pdf", "application/pdf")
    await fake.wait_for(lambda: said(fake, ana, "work with text, photos"))
    assert re.search("Generate", str(fake.buttons(repriced)))


async def test_a_deep_link_ties_the_chat_only_once_confirmed(bot: Running) -> None:
    from tests.jobs.helpers import make_user
    from tools.telegram_links import issue_link

    fake = bot.fake
    web_user = await make_user(bot.settings, 300)
    async with get_database().session() as s:
        token = (await issue_link(s, bot.settings, web_user)).token
    ana = fake.user("Ana")
    await start(fake, ana)  # the chat's own account first
    fake.send_text(ana, f"/start {token}")
    offer = await fake.wait_for(lambda: said(fake, ana, "Tie this chat to the studio account"))
    async with get_database().session(read_only=True) as s:
        account = await s.get(TelegramAccount, ana.id)
        assert account is not None and account.user_id != web_user  # nothing tied yet
    fake.press(ana, offer, "link:yes")
    await fake.wait_for(lambda: said(fake, ana, "now tied to your studio account"))
    async with get_database().session(read_only=True) as s:
        account = await s.get(TelegramAccount, ana.id)
        assert account is not None and account.user_id == web_user
    fake.send_text(ana, f"/start {token}")
    await fake.wait_for(lambda: said(fake, ana, "used already"))


async def test_a_voice_note_is_transcribed_into_a_brief(bot: Running, tmp_path: Path) -> None:
    from tests.gpu.engines.test_lite_asr import _voice_note

    fake = bot.fake
    ana = fake.user("Ana")
    await start(fake, ana)
    note = _voice_note(tmp_path, "make a short video about saving energy at home")
    sent = fake.send_voice(ana, note.read_bytes(), duration=3)
    heard = await fake.wait_for(lambda: said(fake, ana, "I heard"), timeout=60)
    assert "energy" in (heard.text or "").lower()
    # The button names the recording it is for.
    assert f"voice:clone:{sent.message_id}" in callbacks(fake, heard)
    await fake.wait_for(lambda: newest_card(fake, ana, heard.message_id), timeout=60)
    # Asked to clone it, the consent question is about that same recording.
    fake.press(ana, heard, f"voice:clone:{sent.message_id}")
    asked = await fake.wait_for(lambda: said(fake, ana, "needs the speaker's consent"))
    assert callbacks(fake, asked) == [f"voice:yes:{sent.message_id}", f"voice:no:{sent.message_id}"]


async def test_one_persons_messages_are_handled_in_order(bot: Running) -> None:
    fake = bot.fake
    ana = fake.user("Ana")
    await start(fake, ana)
    # Sent back to back: the brief must see the presenter the photo just set.
    fake.send_photo(ana, FACE.read_bytes())
    await brief(fake, ana, "a 20-second video about tea with a friendly host")
    async with get_database().session(read_only=True) as s:
        asset = (await s.scalars(select(Asset))).one()
        account = await s.get(TelegramAccount, ana.id)
        assert account is not None
        conversation = await s.get(Conversation, account.conversation_id)
        assert conversation is not None
        assert conversation.state["options"]["avatar_asset_id"] == asset.id

"""Tying Telegram to a web account: the deep link, redeeming it once, what moves along, and
signed download links for files too big for a chat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from agent.loop import start_conversation
from billing import ledger
from bots.telegram import accounts
from bots.telegram.accounts import Person
from core.db import get_database
from core.errors import Conflict, InvalidInput
from core.models import (
    Conversation,
    EntryKind,
    Job,
    JobStatus,
    TelegramAccount,
    TelegramLinkToken,
    utcnow,
)
from jobs import links
from tests.api.conftest import Api
from tools.telegram_links import token_hash

ANA = Person(telegram_id=5550001, chat_id=5550001, first_name="Ana", username="ana")


def enable_bot(api: Api) -> None:
    api.settings.telegram_bot_token = "123456:TEST-token"
    api.settings.telegram_bot_username = "@skyie_test_bot"


async def new_link(api: Api, headers: dict[str, str]) -> str:
    r = await api.client.post("/v1/telegram/link", headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["command"]).removeprefix("/start ")


async def test_without_a_bot_there_is_nothing_to_link(api: Api) -> None:
    caller = await api.register()
    r = await api.client.post("/v1/telegram/link", headers=caller.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "telegram_disabled"
    r = await api.client.get("/v1/telegram", headers=caller.headers)
    assert r.json() == {"enabled": False, "bot_username": None, "chats": []}


async def test_a_deep_link_ties_a_chat_once_and_can_be_untied(api: Api) -> None:
    enable_bot(api)
    caller = await api.register()
    r = await api.client.post("/v1/telegram/link", headers=caller.headers)
    body = r.json()
    token = body["command"].removeprefix("/start ")
    assert body["url"] == f"https://t.me/skyie_test_bot?start={token}"
    assert len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()

    async with get_database().session() as s:
        linked = await accounts.link(s, api.settings, ANA, token)
    assert linked.account.user_id == caller.id and linked.email == caller.email
    async with get_database().session() as s:
        with pytest.raises(InvalidInput, match="used already"):
            await accounts.link(s, api.settings, ANA, token)
        with pytest.raises(InvalidInput, match="not valid"):
            await accounts.link(s, api.settings, ANA, "link-nonsense")

    chats = (await api.client.get("/v1/telegram", headers=caller.headers)).json()["chats"]
    assert [(c["telegram_id"], c["username"]) for c in chats] == [(ANA.telegram_id, "ana")]
    other = await api.register()
    r = await api.client.delete(f"/v1/telegram/chats/{ANA.telegram_id}", headers=other.headers)
    assert r.status_code == 404
    r = await api.client.delete(f"/v1/telegram/chats/{ANA.telegram_id}", headers=caller.headers)
    assert r.status_code == 204
    assert (await api.client.get("/v1/telegram", headers=caller.headers)).json()["chats"] == []


async def test_an_expired_link_is_refused(api: Api) -> None:
    enable_bot(api)
    caller = await api.register()
    token = await new_link(api, caller.headers)
    async with get_database().session() as s:
        await s.execute(
            update(TelegramLinkToken)
            .where(TelegramLinkToken.token_hash == token_hash(token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    async with get_database().session() as s:
        with pytest.raises(InvalidInput, match="expired"):
            await accounts.link(s, api.settings, ANA, token)


async def test_linking_moves_the_chat_accounts_videos_and_bought_credits(api: Api) -> None:
    enable_bot(api)
    async with get_database().session() as s:
        made = await accounts.open_account(s, api.settings, ANA)
        telegram_user = made.user_id
        await ledger.grant(s, telegram_user, 150, kind=EntryKind.purchase, ref="payment:t1")
        welcome = await ledger.balance(s, telegram_user) - 150
    conversation = await start_conversation(telegram_user, "telegram", "a video about tea")
    caller = await api.register()
    async with get_database().session(read_only=True) as s:
        before = await ledger.balance(s, caller.id)

    token = await new_link(api, caller.headers)
    async with get_database().session() as s:
        linked = await accounts.link(s, api.settings, ANA, token)
    assert linked.credits_moved == 150
    async with get_database().session(read_only=True) as s:
        assert (await s.get(Conversation, conversation)).user_id == caller.id  # type: ignore[union-attr]
        # Free credits stay where they were granted; bought ones follow the person.
        assert await ledger.balance(s, telegram_user) == welcome
        assert await ledger.balance(s, caller.id) == before + 150
        account = await s.get(TelegramAccount, ANA.telegram_id)
        assert account is not None and account.user_id == caller.id

    # Untied, the chat's next /start finds its own account again, empty of what moved.
    await api.client.delete(f"/v1/telegram/chats/{ANA.telegram_id}", headers=caller.headers)
    async with get_database().session() as s:
        again = await accounts.open_account(s, api.settings, ANA)
        assert again.user_id == telegram_user


async def test_a_chat_account_with_videos_in_the_making_is_not_merged(api: Api) -> None:
    enable_bot(api)
    async with get_database().session() as s:
        made = await accounts.open_account(s, api.settings, ANA)
        s.add(Job(user_id=made.user_id, script_text="[TALKING] hi", credits=5))
    caller = await api.register()
    token = await new_link(api, caller.headers)
    with pytest.raises(Conflict, match="still being made"):
        async with get_database().session() as s:  # as /start does: a refusal rolls back
            await accounts.link(s, api.settings, ANA, token)
    async with get_database().session(read_only=True) as s:
        account = await s.get(TelegramAccount, ANA.telegram_id)
        assert account is not None and account.user_id == made.user_id  # nothing changed
        # The refused link can be tried again once the video is done.
        used = await s.scalar(
            select(TelegramLinkToken.used_at).where(
                TelegramLinkToken.token_hash == token_hash(token)
            )
        )
        assert used is None


async def test_accounts_made_in_chats_cannot_be_registered_on_the_web(api: Api) -> None:
    r = await api.client.post(
        "/v1/auth/register",
        json={"email": f"telegram-1@{accounts.EMAIL_DOMAIN}", "password": "x" * 12},
    )
    assert r.status_code == 422 and "cannot receive mail" in r.json()["error"]["message"]


async def test_a_signed_link_opens_only_its_own_job(api: Api) -> None:
    caller = await api.register()
    async with get_database().session() as s:
        job = Job(user_id=caller.id, script_text="[TALKING] hi", credits=5)
        job.status = JobStatus.running.value
        s.add(job)
        await s.flush()
        job_id = job.id
    url = links.video_url(api.settings, caller.id, job_id)
    path = url.removeprefix(api.settings.public_url.rstrip("/"))
    # The link is accepted (no login), and the job simply has no video yet.
    r = await api.client.get(path)
    assert r.status_code == 404 and "no finished video" in r.json()["error"]["message"]
    other = links.sign(api.settings, caller.id, "job_someoneelse")
    r = await api.client.get(f"/v1/jobs/{job_id}/video", params={"link": other})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_link"
    stale = links.sign(api.settings, caller.id, job_id, ttl_s=-10)
    r = await api.client.get(f"/v1/jobs/{job_id}/video", params={"link": stale})
    assert r.status_code == 401 and r.json()["error"]["code"] == "link_expired"
    r = await api.client.get(f"/v1/jobs/{job_id}/video", params={"link": "garbage"})
    assert r.status_code == 401

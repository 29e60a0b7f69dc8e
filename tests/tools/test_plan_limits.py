"""Plan limits in the tools: a resolution above the person's plan is refused before anything
is priced or held, naming the plan that has it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from api.app import create_app
from core.db import get_database
from core.models import Quote, User
from tests.api.conftest import Api, _serve_asgi
from tests.conftest import Stack
from tests.jobs.helpers import SHORT_SCRIPT, context, ledger_of, make_user
from tools.registry import call_tool

FREE_TO_1080 = "1080p needs the Starter plan or above; this account is on Free"

CASES: list[tuple[str, str, str | None]] = [
    ("free", "auto", None),
    ("free", "720p", None),
    ("free", "1080p", FREE_TO_1080),
    ("free", "4k", "4K needs the Business plan; this account is on Free"),
    ("starter", "1080p", None),
    ("starter", "4k", "4K needs the Business plan; this account is on Starter"),
    ("pro", "4k", "4K needs the Business plan; this account is on Pro"),
    ("business", "4k", None),
]


async def run(stack: Stack, user: str, name: str, args: dict[str, Any]) -> Any:
    async with get_database().session() as s:
        return await call_tool(context(stack.settings, s, user), name, args)


async def quotes_of(stack: Stack, user: str) -> int:
    async with get_database().session() as s:
        count = await s.scalar(select(func.count()).select_from(Quote).where(Quote.user_id == user))
        return count or 0


@pytest.mark.parametrize(("plan", "resolution", "refusal"), CASES)
async def test_a_quote_above_the_plans_resolution_is_refused(
    sqlite_stack: Stack, plan: str, resolution: str, refusal: str | None
) -> None:
    user = await make_user(sqlite_stack.settings, 100, plan=plan)
    args = {"script": SHORT_SCRIPT, "options": {"resolution": resolution}}
    shown = await run(sqlite_stack, user, "quote", args)
    if refusal is None:
        assert not shown.is_error, shown.error
        assert shown.output.credits > 0
        assert await quotes_of(sqlite_stack, user) == 1
    else:
        assert shown.is_error
        assert (shown.status_code, shown.code, shown.error) == (403, "plan_required", refusal)
        assert await quotes_of(sqlite_stack, user) == 0


@pytest.fixture
async def api(sqlite_stack: Stack) -> AsyncIterator[Api]:
    async for ready in _serve_asgi(create_app(sqlite_stack.settings, run_worker=False)):
        yield ready


async def test_the_production_form_answers_403_naming_the_plan(api: Api) -> None:
    caller = await api.register()  # a new account is on Free
    body = {"script": SHORT_SCRIPT, "options": {"resolution": "1080p"}}
    r = await api.client.post("/v1/videos/production", json=body, headers=caller.headers)
    error = r.json()["error"]
    assert (r.status_code, error["code"], error["message"]) == (403, "plan_required", FREE_TO_1080)
    body["options"] = {"resolution": "720p"}
    r = await api.client.post("/v1/videos/production", json=body, headers=caller.headers)
    assert r.status_code == 200, r.text


async def test_the_short_forms_ask_for_auto_which_every_plan_has(sqlite_stack: Stack) -> None:
    user = await make_user(sqlite_stack.settings, 100, plan="free")
    form = await run(sqlite_stack, user, "generate_talking_head", {"text": "Hello there."})
    assert not form.is_error, form.error
    assert form.output.quote is not None and form.output.job is None


async def test_a_downgrade_after_the_quote_refuses_the_spend(sqlite_stack: Stack) -> None:
    settings = sqlite_stack.settings
    user = await make_user(settings, 100, plan="business")
    args = {"script": SHORT_SCRIPT, "options": {"resolution": "4k"}}
    shown = await run(sqlite_stack, user, "quote", args)
    assert not shown.is_error, shown.error
    async with get_database().session() as s:
        row = await s.get(User, user)
        assert row is not None
        row.plan = "pro"
    spent = await run(sqlite_stack, user, "produce_video", {"quote_id": shown.output.quote_id})
    assert spent.is_error and (spent.status_code, spent.code) == (403, "plan_required")
    assert "this account is on Pro" in spent.error
    assert (await ledger_of(settings, user))[0] == 100  # nothing held

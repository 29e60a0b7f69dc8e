"""Usage over HTTP: each person's per-job usage and credit ledger (theirs only, page by page),
and the operator's summary, exact for a known dataset and closed to everyone else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from api.usage.endpoints import router
from billing import ledger
from core.db import get_database
from core.models import Job, JobStep, Payment, Subscription, Usage, User, new_id, utcnow
from core.production import ProductionOptions
from core.settings import Settings
from jobs import broker
from jobs.service import finish_step
from tests.api.conftest import Api, Caller
from tests.jobs.helpers import submit

SCRIPT = "[TALKING] Hello from the usage tests."


def _with_usage_routes(app: FastAPI) -> None:
    """Until api/app.py includes the usage router, the tests add it themselves."""
    if not any(getattr(r, "path", "") == "/v1/usage" for r in app.routes):
        app.include_router(router, prefix="/v1")


async def _job(settings: Settings, user_id: str) -> str:
    started = await submit(settings, user_id, SCRIPT, ProductionOptions(music=False))
    return started.job_id


async def _succeed(settings: Settings, job_id: str) -> None:
    """Finish every step as a worker would, the GPU ones having run for a minute."""
    async with get_database(settings.resolved_database_url).session() as s:
        steps = (await s.scalars(select(JobStep).where(JobStep.job_id == job_id))).all()
        for step in steps:
            if step.queue == broker.GPU_QUEUE:
                step.started_at = utcnow() - timedelta(minutes=1)
        await s.flush()
        for step in steps:
            await finish_step(s, step.id, reused=False)


async def _pages(api: Api, path: str, caller: Caller, limit: int) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = await api.client.get(path, params=params, headers=caller.headers)
        assert r.status_code == 200, r.text
        pages.append(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return pages


async def _three_jobs(api: Api, caller: Caller) -> tuple[str, str, str]:
    """One succeeded, one cancelled, one still queued."""
    async with get_database(api.settings.resolved_database_url).session() as s:
        await ledger.grant(s, caller.id, 1000, note="for the usage tests")
    done = await _job(api.settings, caller.id)
    await _succeed(api.settings, done)
    cancelled = await _job(api.settings, caller.id)
    r = await api.client.post(f"/v1/jobs/{cancelled}/cancel", headers=caller.headers)
    assert r.status_code == 200, r.text
    queued = await _job(api.settings, caller.id)
    return done, cancelled, queued


async def test_a_person_sees_their_own_jobs_usage_page_by_page(api_on: Api) -> None:
    api = api_on
    _with_usage_routes(api.app)
    ada, eve = await api.register(), await api.register()
    done, cancelled, queued = await _three_jobs(api, ada)
    eves = await _job(api.settings, eve.id)

    pages = await _pages(api, "/v1/usage", ada, limit=2)
    assert [len(p) for p in pages] == [2, 1]
    rows = {row["job_id"]: row for page in pages for row in page}
    assert list(rows) == [queued, cancelled, done]  # newest first, Eve's job nowhere
    async with get_database(api.settings.resolved_database_url).session() as s:
        usage = await s.scalar(select(Usage).where(Usage.job_id == done))
        jobs = (await s.scalars(select(Job).where(Job.user_id == ada.id))).all()
        price = {j.id: j.credits for j in jobs}
    assert usage is not None and usage.gpu_seconds > 0
    assert rows[done]["status"] == "succeeded" and rows[done]["finished_at"] is not None
    assert rows[done]["credits_charged"] == usage.credits_used == price[done]
    assert rows[done]["gpu_seconds"] == usage.gpu_seconds and rows[done]["credits_held"] == 0
    assert rows[cancelled] | {"created_at": None, "finished_at": None} == {
        "job_id": cancelled,
        "workflow": "production",
        "status": "cancelled",
        "credits_held": 0,
        "credits_charged": 0,
        "gpu_seconds": 0.0,
        "created_at": None,
        "finished_at": None,
        "deleted": False,
    }
    assert rows[queued]["credits_held"] == price[queued] and rows[queued]["credits_charged"] == 0

    r = await api.client.get("/v1/usage", headers=eve.headers)
    assert [row["job_id"] for row in r.json()["items"]] == [eves]
    r = await api.client.get("/v1/usage", params={"cursor": "not-ours"}, headers=ada.headers)
    assert r.status_code == 422 and "not one this API gave out" in r.json()["error"]["message"]
    assert (await api.client.get("/v1/usage")).status_code == 401


async def test_the_ledger_lists_each_hold_with_its_capture_or_release(api_on: Api) -> None:
    api = api_on
    _with_usage_routes(api.app)
    ada, eve = await api.register(), await api.register()
    done, cancelled, queued = await _three_jobs(api, ada)

    pages = await _pages(api, "/v1/credits/history", ada, limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    entries = [e for page in pages for e in page]
    assert [(e["kind"], e["job_id"]) for e in entries] == [
        ("hold", queued),
        ("release", cancelled),
        ("hold", cancelled),
        ("capture", done),
        ("hold", done),
        ("grant", None),  # the test's 1000
        ("grant", None),  # the welcome credits
    ]
    holds = {e["job_id"]: e for e in entries if e["kind"] == "hold"}
    assert entries[1]["settles"] == holds[cancelled]["id"]
    assert entries[1]["amount"] == -holds[cancelled]["amount"] > 0
    assert entries[3]["settles"] == holds[done]["id"] and entries[3]["amount"] == 0
    # The running balance holds across pages: each entry's balance less its amount is the
    # balance after the entry below it, down to nothing before the first.
    for newer, older in pairwise(entries):
        assert newer["balance_after"] - newer["amount"] == older["balance_after"]
    assert entries[-1]["balance_after"] == entries[-1]["amount"]
    me = (await api.client.get("/v1/me", headers=ada.headers)).json()
    assert entries[0]["balance_after"] == me["credits"]

    r = await api.client.get("/v1/credits/history", headers=eve.headers)
    assert [e["kind"] for e in r.json()["items"]] == ["grant"]  # only Eve's welcome


# The dataset of the summary test lies in a window of its own, far from every other test's rows.
SINCE = datetime(2001, 3, 1, tzinfo=UTC)
UNTIL = datetime(2001, 4, 1, tzinfo=UTC)


async def _dataset(settings: Settings) -> None:
    inside, before = SINCE + timedelta(days=3), SINCE - timedelta(seconds=1)
    async with get_database(settings.resolved_database_url).session() as s:
        people = [
            User(email=f"{new_id('p')}@example.com", plan=plan, created_at=at)
            for plan, at in (("starter", SINCE), ("pro", inside), ("free", before))
        ]
        s.add_all(people)
        await s.flush()
        owner = people[0].id

        def job(status: str, workflow: str, credits: int, finished: datetime | None) -> Job:
            row = Job(
                user_id=owner,
                workflow=workflow,
                status=status,
                script_text=SCRIPT,
                credits=credits,
                created_at=SINCE - timedelta(days=1),
                finished_at=finished,
            )
            s.add(row)
            return row

        charged = [
            (job("succeeded", "production", 30, SINCE), 1800.0),  # the start is included
            (job("succeeded", "production", 20, inside), 900.0),
            (job("succeeded", "talking_head", 10, UNTIL - timedelta(seconds=1)), 1800.0),
            (job("succeeded", "production", 40, before), 3600.0),  # before the window
            (job("succeeded", "production", 50, UNTIL), 3600.0),  # the end is excluded
        ]
        job("succeeded", "export", 0, inside)  # free: not a generation
        job("failed", "production", 15, inside)
        job("cancelled", "production", 5, inside)
        job("cancelled", "talking_head", 5, inside)
        job("running", "production", 25, None)
        await s.flush()
        for row, seconds in charged:
            s.add(
                Usage(user_id=owner, job_id=row.id, credits_used=row.credits, gpu_seconds=seconds)
            )
        for cents, currency, refunded, paid in (
            (2000, "usd", 500, inside),
            (1000, "usd", 0, SINCE),
            (900, "eur", 0, inside),
            (5000, "usd", 0, before),
            (700, "usd", 700, None),  # a refund seen before its purchase: not paid yet
        ):
            s.add(
                Payment(
                    user_id=owner,
                    stripe_ref=new_id("pi"),
                    amount_cents=cents,
                    currency=currency,
                    refunded_cents=refunded,
                    paid_at=paid,
                )
            )
        for plan, status in (
            ("starter", "active"),
            ("pro", "trialing"),
            ("pro", "past_due"),
            ("pro", "canceled"),
            ("business", "incomplete_expired"),
        ):
            s.add(Subscription(id=new_id("sub"), user_id=owner, plan=plan, status=status))


def _grew(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}


async def test_the_admin_summary_is_exact_for_a_known_dataset(api_on: Api) -> None:
    api = api_on
    _with_usage_routes(api.app)
    boss = await api.register()
    api.settings.admin_emails = f"someone@example.com, {boss.email.upper()}"
    api.settings.gpu_hour_usd = 2.0
    window = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}

    r = await api.client.get("/v1/admin/summary", params=window, headers=boss.headers)
    assert r.status_code == 200, r.text
    empty = r.json()  # plans and subscriptions are now, not windowed: compare against this
    await _dataset(api.settings)
    r = await api.client.get("/v1/admin/summary", params=window, headers=boss.headers)
    assert r.status_code == 200, r.text
    got = r.json()

    assert _grew(empty["accounts_by_plan"], got.pop("accounts_by_plan")) == {
        "starter": 1,
        "pro": 1,
        "free": 1,
    }
    assert _grew(empty["active_subscriptions"], got.pop("active_subscriptions")) == {
        "starter": 1,
        "pro": 2,
    }
    assert got == {
        "since": "2001-03-01T00:00:00Z",
        "until": "2001-04-01T00:00:00Z",
        "new_accounts": 2,
        "generations": 3,
        "generations_by_workflow": {"production": 2, "talking_head": 1},
        "failed": 1,
        "cancelled": 2,
        "gpu_hours": 1.25,  # 4500 s
        "credits_charged": 60,
        "revenue": [
            {
                "currency": "eur",
                "payments": 1,
                "gross_cents": 900,
                "refunded_cents": 0,
                "net_cents": 900,
            },
            {
                "currency": "usd",
                "payments": 2,
                "gross_cents": 3000,
                "refunded_cents": 500,
                "net_cents": 2500,
            },
        ],
        "gpu_hour_usd": 2.0,
        "gpu_cost_cents": 250,  # 1.25 h at $2
        "gpu_cost_to_revenue": 0.1,  # 250 of 2500 US cents
    }


async def test_the_summary_is_for_admins_and_the_local_user_only(api_on: Api) -> None:
    api = api_on
    _with_usage_routes(api.app)
    someone, local = await api.register(), await api.register()
    api.settings.admin_emails = "boss@example.com"
    r = await api.client.get("/v1/admin/summary", headers=someone.headers)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    assert "SKYIE_ADMIN_EMAILS" in r.json()["error"]["message"]
    assert (await api.client.get("/v1/admin/summary")).status_code == 401

    # Registering the embedded user's email makes nobody an operator...
    api.settings.local_user_email = local.email
    r = await api.client.get("/v1/admin/summary", headers=local.headers)
    assert r.status_code == 403
    # ...the embedded studio's own user (no password: the machine's owner) is one.
    async with get_database(api.settings.resolved_database_url).session() as s:
        account = await s.get(User, local.id)
        assert account is not None
        account.password_hash = None
    r = await api.client.get("/v1/admin/summary", headers=local.headers)
    assert r.status_code == 200, r.text
    got = r.json()
    since, until = datetime.fromisoformat(got["since"]), datetime.fromisoformat(got["until"])
    assert until - since == timedelta(days=30)  # the last 30 days by default
    assert abs(until - datetime.now(UTC)) < timedelta(hours=1)


async def test_a_bad_window_is_refused_with_what_was_wrong(api: Api) -> None:
    _with_usage_routes(api.app)
    boss = await api.register()
    api.settings.admin_emails = boss.email
    for params, words in (
        ({"since": "2024-02-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, "later than"),
        ({"since": "2024-01-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, "later than"),
        ({"since": "2023-01-01T00:00:00Z", "until": "2024-01-03T00:00:00Z"}, "at most 366"),
        ({"since": "yesterday"}, "query.since"),
        ({"until": "2024-13-01"}, "query.until"),
        ({"until": "0001-01-02T00:00:00Z"}, "between the years 1 and 9999"),
        ({"since": "9999-12-31T23:00:00-05:00"}, "between the years 1 and 9999"),
    ):
        r = await api.client.get("/v1/admin/summary", params=params, headers=boss.headers)
        assert r.status_code == 422, params
        assert words in r.json()["error"]["message"], r.text
    # A time without an offset is UTC; a window of exactly 366 days is allowed.
    r = await api.client.get(
        "/v1/admin/summary",
        params={"since": "2024-01-01T00:00:00", "until": "2025-01-01T00:00:00"},
        headers=boss.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["since"] == "2024-01-01T00:00:00Z"


async def test_operators_adjust_credits_with_a_reason_and_never_below_zero(api_on: Api) -> None:
    api = api_on
    boss, person = await api.register(), await api.register()
    api.settings.admin_emails = boss.email
    start = api.settings.starting_credits
    post = api.client.post
    r = await post(
        "/v1/admin/adjustments",
        json={"email": person.email.upper(), "amount": 25, "note": "sorry for the outage"},
        headers=boss.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["balance"] == start + 25 and r.json()["amount"] == 25
    r = await post(
        "/v1/admin/adjustments",
        json={"email": person.email, "amount": -(start + 26), "note": "correction"},
        headers=boss.headers,
    )
    assert r.status_code == 402 and "balance is" in r.json()["error"]["message"]
    bad = [
        ({"email": person.email, "amount": 0, "note": "x"}, 422, "non-zero"),
        ({"email": person.email, "amount": 5, "note": "  "}, 422, "note"),
        ({"email": "nobody@example.com", "amount": 5, "note": "x"}, 404, "nobody@example.com"),
    ]
    for body, status, words in bad:
        r = await post("/v1/admin/adjustments", json=body, headers=boss.headers)
        assert r.status_code == status and words in r.text, r.text
    r = await post(
        "/v1/admin/adjustments",
        json={"email": boss.email, "amount": 1000, "note": "mine"},
        headers=person.headers,
    )
    assert r.status_code == 403
    history = (await api.client.get("/v1/credits/history", headers=person.headers)).json()
    assert history["items"][0]["kind"] == "adjustment"
    assert history["items"][0]["note"] == "sorry for the outage"
    me = (await api.client.get("/v1/me", headers=person.headers)).json()
    assert me["credits"] == start + 25

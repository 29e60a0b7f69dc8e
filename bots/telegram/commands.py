"""The bot's commands: /start (an account, or a link to a web one), /new, /balance, /buy,
/jobs, /cancel, /help, and the buttons they show."""

from __future__ import annotations

from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from billing import ledger
from billing.payments import checkout, portal
from billing.plans import PACKS, PAID_PLANS, plan_spec
from bots.telegram import accounts, jobs, send, texts
from bots.telegram.chat import buy_button, remember
from bots.telegram.context import Context, authorize, deps_of, person_of, tool_context
from bots.telegram.send import ChatGone
from core.db import get_database
from core.errors import SkyieError
from core.models import Job, JobStatus, TelegramAccount, User
from tools.registry import call_tool
from tools.telegram_links import is_link_token, peek_link

RECENT_JOBS = 5
ICONS = {"queued": "⏳", "running": "⚙️", "succeeded": "✅", "failed": "❌", "cancelled": "✖"}


def _dollars(cents: int) -> str:
    return f"${cents / 100:.0f}" if cents % 100 == 0 else f"${cents / 100:.2f}"


async def on_start(update: Update, context: Context) -> None:
    """/start: open an account; with a deep link's payload, offer to tie this chat to that
    web account (tied only once the person confirms: a link can come from anyone)."""
    person = person_of(update)
    if person is None:
        return
    deps, bot = deps_of(context), context.bot
    if not accounts.allowed(deps.settings, person):
        await send.say(
            bot, person.chat_id, "This studio's bot is private. Ask its owner for access."
        )
        return
    payload = context.args[0] if context.args else ""
    if is_link_token(payload):
        await _offer_link(context, person.chat_id, payload)
        return
    async with get_database().session() as s:
        account = await accounts.find(s, person)
        blocked = account is not None and account.blocked_at is not None
        if account is None:
            account = await accounts.open_account(s, deps.settings, person)
            balance = await ledger.balance(s, account.user_id)
            hello = f"Welcome to Skyie Studio! Your account is ready with {texts.credits(balance)}."
        else:
            hello = "Welcome back!"
    await _welcome(context, person.chat_id, hello, blocked)


async def _welcome(context: Context, chat_id: int, hello: str, blocked: bool) -> None:
    if blocked:
        await send.say(context.bot, chat_id, "This account is blocked. Ask the studio's owner why.")
        return
    await send.say(context.bot, chat_id, hello)
    await send.call(
        chat_id, lambda: context.bot.send_message(chat_id, texts.HELP, parse_mode="HTML")
    )


async def _offer_link(context: Context, chat_id: int, token: str) -> None:
    try:
        async with get_database().session(read_only=True) as s:
            user = await s.get(User, await peek_link(s, token))
    except SkyieError as exc:
        await send.say(context.bot, chat_id, exc.message)
        return
    assert user is not None
    assert context.user_data is not None
    context.user_data["pending_link"] = token
    keys = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("✅ Tie this chat", callback_data="link:yes")],
            [InlineKeyboardButton("✖ No", callback_data="link:no")],
        ]
    )
    await send.say(
        context.bot,
        chat_id,
        f"Tie this chat to the studio account {user.email}? You will act as that account "
        "here, and the videos and bought credits of this chat's own account move to it. Only "
        "say yes if you made this link yourself.",
        keys,
    )


async def on_link_choice(update: Update, context: Context) -> None:
    """link:yes ties the chat to the account of the pending deep link; link:no drops it."""
    query, person = update.callback_query, person_of(update)
    if query is None or person is None or context.user_data is None:
        return
    await query.answer()
    token = context.user_data.pop("pending_link", None)
    if query.message is not None:
        await send.drop_buttons(context.bot, person.chat_id, query.message.message_id)
    if query.data != "link:yes" or not isinstance(token, str):
        await send.say(context.bot, person.chat_id, "Okay, nothing was tied.")
        return
    deps = deps_of(context)
    try:
        async with get_database().session() as s:
            linked = await accounts.link(s, deps.settings, person, token)
    except SkyieError as exc:
        await send.say(context.bot, person.chat_id, exc.message)
        return
    hello = f"This chat is now tied to your studio account {linked.email}."
    if linked.videos_moved or linked.credits_moved:
        hello += (
            f" {linked.videos_moved} video(s) and {linked.credits_moved} bought credit(s) "
            "moved over from the account this chat had."
        )
    await _welcome(context, person.chat_id, hello, linked.account.blocked_at is not None)


async def on_help(update: Update, context: Context) -> None:
    """/help: what the bot does and its commands."""
    account = await authorize(update, context)
    if account is not None:
        await send.call(
            account.chat_id,
            lambda: context.bot.send_message(account.chat_id, texts.HELP, parse_mode="HTML"),
        )


async def on_new(update: Update, context: Context) -> None:
    """/new: the next message starts a new video (a new conversation)."""
    account = await authorize(update, context)
    if account is None:
        return
    previous = account.state.get("card")
    if isinstance(previous, int):
        await send.drop_buttons(context.bot, account.chat_id, previous)
    await remember(account, conversation_id=None, state={"card": None})
    await send.say(context.bot, account.chat_id, "Fresh start. What video shall we make?")


async def on_balance(update: Update, context: Context) -> None:
    """/balance: spendable credits and the plan."""
    account = await authorize(update, context)
    if account is None:
        return
    async with get_database().session(read_only=True) as s:
        user = await s.get(User, account.user_id)
        balance = await ledger.balance(s, account.user_id)
    assert user is not None
    spec = plan_spec(user.plan)
    text = (
        f"You have {texts.credits(balance)} on the {spec.title} plan "
        f"({spec.monthly_credits} credits a month, up to {spec.max_short_side}p"
        + (", with a watermark" if spec.watermark else "")
        + ")."
    )
    await send.say(context.bot, account.chat_id, text, buy_button())


def _offer() -> InlineKeyboardMarkup:
    packs = [
        InlineKeyboardButton(
            f"{p.credits} credits · {_dollars(p.price_cents)}", callback_data=f"buy:pack:{p.name}"
        )
        for p in PACKS.values()
    ]
    plans = [
        InlineKeyboardButton(
            f"{plan_spec(n).title} · {_dollars(plan_spec(n).price_cents)}/mo",
            callback_data=f"buy:plan:{n}",
        )
        for n in PAID_PLANS
    ]
    return InlineKeyboardMarkup(
        [packs, plans, [InlineKeyboardButton("⚙️ Manage my plan", callback_data="buy:portal")]]
    )


async def on_buy(update: Update, context: Context) -> None:
    """/buy: credit packs and plans; a button makes its Stripe Checkout page."""
    account = await authorize(update, context)
    if account is None:
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    if not deps_of(context).settings.stripe_secret_key:
        await send.say(
            context.bot,
            account.chat_id,
            "This studio does not sell credits: payments are not set up.",
        )
        return
    lines = ["Credit packs never expire. Plans renew monthly with fresh credits:"]
    for name in PAID_PLANS:
        spec = plan_spec(name)
        lines.append(
            f"• {spec.title}: {spec.monthly_credits} credits a month, {spec.max_short_side}p"
            + (", GPU priority" if spec.priority else "")
            + (", API access" if spec.api_access else "")
        )
    await send.say(context.bot, account.chat_id, "\n".join(lines), _offer())


async def on_buy_choice(update: Update, context: Context) -> None:
    """A /buy button: the Stripe page for that pack or plan (or the billing portal)."""
    query = update.callback_query
    account = await authorize(update, context)
    if query is None or account is None or query.data is None:
        return
    deps = deps_of(context)
    _, kind, name = [*query.data.split(":"), "", ""][:3]
    try:
        async with get_database().session() as s:
            user = await s.get(User, account.user_id)
            assert user is not None
            if kind == "portal":
                link = await portal(s, deps.settings, user)
                label = "⚙️ Open the billing portal"
            else:
                link = await checkout(
                    s,
                    deps.settings,
                    user,
                    pack=name if kind == "pack" else None,
                    plan=name if kind == "plan" else None,
                )
                label = "💳 Pay on Stripe"
    except SkyieError as exc:
        await query.answer()
        await send.say(context.bot, account.chat_id, exc.message)
        return
    await query.answer()
    what = (
        "your plan"
        if kind == "portal"
        else (f"the {name} pack" if kind == "pack" else f"the {plan_spec(name).title} plan")
    )
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, url=link.url)]])
    await send.say(
        context.bot,
        account.chat_id,
        f"Here is the secure Stripe page for {what}. Your credits arrive here once it is paid.",
        markup,
    )


async def _recent(account: TelegramAccount, *, running: bool = False) -> list[Job]:
    stmt = select(Job).where(Job.user_id == account.user_id, Job.deleted_at.is_(None))
    if running:
        stmt = stmt.where(Job.status.in_((JobStatus.queued.value, JobStatus.running.value)))
    async with get_database().session(read_only=True) as s:
        return list(await s.scalars(stmt.order_by(Job.created_at.desc()).limit(RECENT_JOBS)))


async def on_jobs(update: Update, context: Context) -> None:
    """/jobs: the latest videos, with buttons to cancel one or get its file again."""
    account = await authorize(update, context)
    if account is None:
        return
    recent = await _recent(account)
    if not recent:
        await send.say(context.bot, account.chat_id, "No videos yet. Tell me what to make!")
        return
    lines, keys = [], []
    for n, job in enumerate(recent, 1):
        status = job.status if job.status != "running" else f"{job.phase} {job.progress:.0%}"
        lines.append(f"{n}. {ICONS.get(job.status, '•')} {jobs.title_of(job)} — {status}")
        if job.status in (JobStatus.queued.value, JobStatus.running.value):
            keys.append(InlineKeyboardButton(f"✖ Cancel {n}", callback_data=f"cancel:{job.id}"))
        elif job.status == JobStatus.succeeded.value:
            keys.append(InlineKeyboardButton(f"📤 Send {n}", callback_data=f"send:{job.id}"))
    markup = (
        InlineKeyboardMarkup([keys[i : i + 3] for i in range(0, len(keys), 3)]) if keys else None
    )
    await send.say(context.bot, account.chat_id, "\n".join(lines), markup)


async def on_cancel(update: Update, context: Context) -> None:
    """/cancel: stop the video being made (or choose which, when several are)."""
    account = await authorize(update, context)
    if account is None:
        return
    running = await _recent(account, running=True)
    if not running:
        await send.say(context.bot, account.chat_id, "Nothing is being made right now.")
    elif len(running) == 1:
        await _cancel(context, account, running[0].id)
    else:
        keys = [
            [InlineKeyboardButton(f"✖ {jobs.title_of(j)}", callback_data=f"cancel:{j.id}")]
            for j in running
        ]
        await send.say(context.bot, account.chat_id, "Which one?", InlineKeyboardMarkup(keys))


async def _cancel(context: Context, account: TelegramAccount, job_id: str) -> None:
    deps = deps_of(context)
    async with get_database().session() as s:
        outcome = await call_tool(tool_context(s, deps, account), "cancel_job", {"job_id": job_id})
    text = outcome.error if outcome.is_error else "Cancelled. Its credits are back in your balance."
    await send.say(context.bot, account.chat_id, text or "It could not be cancelled.")


async def on_job_button(update: Update, context: Context) -> None:
    """Job buttons: cancel:<job>, send:<job> (the file again), exp:<job>:<format>."""
    query = update.callback_query
    account = await authorize(update, context)
    if query is None or account is None or query.data is None:
        return
    deps = deps_of(context)
    action, _, rest = query.data.partition(":")
    await query.answer()
    try:
        if action == "cancel":
            await _cancel(context, account, rest)
        elif action == "send":
            async with get_database().session(read_only=True) as s:
                job = await s.get(Job, rest)
            if (
                job is None
                or job.user_id != account.user_id
                or job.deleted_at is not None
                or job.status != JobStatus.succeeded.value
            ):
                await send.say(context.bot, account.chat_id, "That video is not available.")
                return
            await jobs.send_files(context.bot, deps, job, account.chat_id)
        elif action == "exp":
            job_id, _, fmt = rest.partition(":")
            async with get_database().session() as s:
                outcome = await call_tool(
                    tool_context(s, deps, account),
                    "export_video",
                    {"job_id": job_id, "formats": [fmt]},
                )
            if outcome.is_error or outcome.output is None:
                await send.say(context.bot, account.chat_id, outcome.error or "The export failed.")
                return
            await jobs.follow(
                context.bot, deps, str(outcome.output.model_dump()["job_id"]), account.chat_id
            )
    except ChatGone:
        pass

"""`skyie chat`: talk to the agent in a terminal; scripted when standard input is not a terminal."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from agent.loop import (
    AgentDeps,
    AgentEvent,
    DoneEvent,
    ErrorEvent,
    JobEvent,
    QuoteEvent,
    ScriptEvent,
    TextEvent,
    ToolEvent,
    run_turn,
    start_conversation,
)
from agent.providers.select import make_provider
from agent.writer import PlannerWriter
from cli.demo import ProgressView, slugify, watch_job
from core import migrate
from core.db import get_database
from core.models import JobStatus
from core.settings import Settings
from core.storage import Storage, get_storage
from jobs.worker import JobWorker
from tools.accounts import ensure_local_user

EXIT_WORDS = {"exit", "quit", "bye", "/exit", "/quit"}


def read_messages(console: Console) -> Iterator[str]:
    if sys.stdin.isatty():
        while True:
            try:
                line = console.input("[bold cyan]you ›[/] ")
            except (EOFError, KeyboardInterrupt):
                return
            yield line
    else:
        for line in sys.stdin:
            console.print(f"[bold cyan]you ›[/] {line.rstrip()}")
            yield line


def render(console: Console, event: AgentEvent, started: list[str]) -> None:
    if isinstance(event, TextEvent):
        console.print(event.text, end="", markup=False, highlight=False)
    elif isinstance(event, ScriptEvent):
        title = f"Script — {event.planned_seconds:.0f} s"
        console.print()
        console.print(Panel(event.script.rstrip(), title=title, border_style="cyan"))
    elif isinstance(event, QuoteEvent):
        console.print(f"[bold]Quote:[/] {event.credits} credits (balance {event.balance})")
    elif isinstance(event, JobEvent):
        started.append(event.job_id)
    elif isinstance(event, ToolEvent) and not event.ok:
        console.print(f"[dim]{event.name}: {event.error}[/]")
    elif isinstance(event, ErrorEvent):
        console.print(f"[red]{event.message}[/]")
    elif isinstance(event, DoneEvent):
        console.print()


async def run_chat(
    settings: Settings, console: Console, *, conversation_id: str | None, out_dir: Path
) -> int:
    migrate.upgrade(settings.resolved_database_url)
    storage = get_storage(settings.storage_dir)
    db = get_database(settings.resolved_database_url)
    async with db.session() as s:
        user = await ensure_local_user(s, settings)
        user_id = user.id
    conversation_id = conversation_id or await start_conversation(user_id, "cli")
    console.print(
        f"[dim]conversation {conversation_id} — say what video you want; 'exit' to leave[/]"
    )
    deps = AgentDeps(settings, storage, make_provider(settings), PlannerWriter())
    worker = JobWorker(settings).start() if settings.is_embedded_broker else None
    started: list[str] = []
    try:
        for line in read_messages(console):
            message = line.strip()
            if not message:
                continue
            if message.lower() in EXIT_WORDS:
                break
            console.print("[bold magenta]skyie ›[/] ", end="")
            async for event in run_turn(
                conversation_id, message, deps, user_id=user_id, channel="cli"
            ):
                render(console, event, started)
        return await _finish(console, started, storage, out_dir)
    finally:
        if worker is not None:
            await asyncio.to_thread(worker.stop)


async def _finish(console: Console, job_ids: list[str], storage: Storage, out_dir: Path) -> int:
    """Stay until the jobs started in this chat are done, then save their files."""
    failed = 0
    for job_id in job_ids:
        view = ProgressView(console)
        with view.progress:
            job = await watch_job(job_id, view)
        if job.status != JobStatus.succeeded.value:
            console.print(f"[red]job {job_id} {job.status}: {job.error}[/]")
            failed += 1
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        name = slugify(job.script_text.splitlines()[0].split("]", 1)[-1], fallback=job_id)
        key = job.output["render_key"]
        video, captions = out_dir / f"{name}.mp4", out_dir / f"{name}.srt"
        shutil.copyfile(storage.artifact_file(key, "video.mp4"), video)
        shutil.copyfile(storage.artifact_file(key, "captions.srt"), captions)
        console.print(f"[green]Ready:[/] {video}  (captions: {captions})")
    return 1 if failed else 0

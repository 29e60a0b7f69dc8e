"""`skyie demo`: a brief (or a script file) in, a finished MP4 and SRT out, on one machine."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from agent.planner import plan
from billing.pricing import Quote, quote_production
from core import migrate
from core.db import get_database
from core.errors import SkyieError
from core.events import ProgressEvent, get_bus
from core.models import Job, JobStatus
from core.production import ProductionOptions, VideoFormat
from core.script import Script, parse_script
from core.settings import Settings
from core.storage import get_storage
from jobs.progress import PHASES
from jobs.worker import JobWorker
from tools.accounts import ensure_local_user
from tools.assets import import_avatar
from tools.context import ToolContext
from tools.production import make_quote, start_production


@dataclass
class DemoRequest:
    brief: str | None
    script_file: Path | None
    out_dir: Path
    format: VideoFormat | None
    avatar: Path | None
    dry_run: bool
    as_json: bool


@dataclass
class Planned:
    script: Script
    options: ProductionOptions
    quote: Quote
    slug: str


def slugify(text: str, fallback: str = "video") -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")
    return slug or fallback


def check_out_dir(out_dir: Path) -> None:
    """Fail before anything is spent if the results could not be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SkyieError(
            f"cannot use {str(out_dir)!r} as the output folder: {exc.strerror}"
        ) from None
    if not os.access(out_dir, os.W_OK):
        raise SkyieError(f"the output folder {str(out_dir)!r} is not writable")


def plan_request(req: DemoRequest) -> Planned:
    if req.script_file is not None:
        try:
            text = req.script_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SkyieError(f"cannot read script file {str(req.script_file)!r}: {exc}") from None
        script = parse_script(text)
        options = ProductionOptions(title=req.script_file.stem)
        slug = slugify(req.script_file.stem)
    else:
        brief, script, options = plan(req.brief or "")
        slug = slugify(options.title or brief.topic)
    if req.format is not None:
        options = options.model_copy(update={"format": req.format})
    return Planned(script, options, quote_production(script, options), slug)


def show_plan(console: Console, planned: Planned) -> None:
    w, h = planned.options.size
    console.print(Panel(planned.script.to_text().rstrip(), title="Script", border_style="cyan"))
    table = Table(show_header=False, box=None)
    table.add_row("format", f"{planned.options.format.value} ({w}x{h})")
    table.add_row("planned length", f"{planned.script.planned_seconds:.1f} s")
    table.add_row("quote", f"[bold]{planned.quote.credits} credits[/]")
    for item in planned.quote.items:
        table.add_row("", f"[dim]{item.label}: {item.credits:g}[/]")
    console.print(table)


class ProgressView:
    """A bar per phase plus the whole job, fed by progress events."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<14}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.total = self.progress.add_task("[bold]Video", total=1.0)
        self.phases: dict[str, TaskID] = {}

    def update(self, event: ProgressEvent) -> None:
        for label in PHASES.values():
            if label in event.phases and label not in self.phases:
                self.phases[label] = self.progress.add_task(label, total=1.0)
        for label, fraction in event.phases.items():
            if label in self.phases:
                self.progress.update(self.phases[label], completed=fraction)
        self.progress.update(
            self.total, completed=event.fraction, description=f"[bold]{event.phase[:14]}"
        )


async def watch_job(job_id: str, view: ProgressView | None) -> Job:
    db = get_database()
    with get_bus().subscribe(job_id) as sub:
        while True:
            event = await asyncio.to_thread(sub.get, 0.5)
            if event is not None and view is not None:
                view.update(event)
            async with db.session() as s:
                job = await s.get(Job, job_id)
                assert job is not None
                if JobStatus(job.status).finished:
                    return job


async def run_demo(req: DemoRequest, settings: Settings, console: Console) -> dict[str, Any]:
    planned = plan_request(req)
    result: dict[str, Any] = {
        "script": planned.script.to_text(),
        "duration_s": round(planned.script.planned_seconds, 2),
        "planned_s": round(planned.script.planned_seconds, 2),
        "credits": planned.quote.credits,
        "format": planned.options.format.value,
    }
    if not req.as_json:
        show_plan(console, planned)
    if req.dry_run:
        return result
    check_out_dir(req.out_dir)
    migrate.upgrade(settings.resolved_database_url)
    storage = get_storage(settings.storage_dir)
    db = get_database(settings.resolved_database_url)
    worker = JobWorker(settings).start()
    try:
        async with db.session() as s:
            user = await ensure_local_user(s, settings)
            ctx = ToolContext(
                session=s, user_id=user.id, channel="cli", settings=settings, storage=storage
            )
            options = planned.options
            if req.avatar is not None:
                asset = await import_avatar(ctx, req.avatar)
                options = options.model_copy(update={"avatar_asset_id": asset.id})
            # The person saw the quote printed above: running the demo is the approval.
            shown = await make_quote(ctx, planned.script, options)
            started = await start_production(ctx, shown.quote_id)
        t0 = time.monotonic()
        if req.as_json:
            job = await watch_job(started.job_id, None)
        else:
            console.print(
                f"job [bold]{started.job_id}[/] — {started.credits} credits held, "
                f"{started.balance} left"
            )
            view = ProgressView(console)
            with view.progress:
                job = await watch_job(started.job_id, view)
    finally:
        await asyncio.to_thread(worker.stop)
    if job.status != JobStatus.succeeded.value:
        raise SkyieError(f"job {job.id} {job.status}: {job.error or 'no reason given'}")
    req.out_dir.mkdir(parents=True, exist_ok=True)
    video = req.out_dir / f"{planned.slug}.mp4"
    captions = req.out_dir / f"{planned.slug}.srt"
    key = job.output["render_key"]
    shutil.copyfile(storage.artifact_file(key, "video.mp4"), video)
    shutil.copyfile(storage.artifact_file(key, "captions.srt"), captions)
    meta = storage.artifact_meta(key)
    result.update(
        duration_s=round(float(meta["duration_s"]), 2),
        video=str(video),
        captions=str(captions),
        job_id=job.id,
        seconds_to_render=round(time.monotonic() - t0, 1),
    )
    if not req.as_json:
        console.print(
            f"[green]Done[/] in {result['seconds_to_render']} s — "
            f"{result['duration_s']} s of video\n"
            f"  video:    {video}\n  captions: {captions}"
        )
    return result


def print_json(result: dict[str, Any]) -> None:
    print(json.dumps(result, indent=None))

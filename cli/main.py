"""The `skyie` command: the operator's entry point to every part of the studio."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from pathlib import Path

import typer
from rich.console import Console

from core.errors import SkyieError
from core.logging import configure_logging
from core.production import VideoFormat
from core.settings import get_settings

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Skyie Studio: a brief in, a finished video out.",
)
err = Console(stderr=True)


@app.command()
def demo(
    brief: str = typer.Argument("", help="What the video should be, in plain words."),
    out: Path = typer.Option(Path("out"), "--out", help="Folder for the MP4 and SRT."),
    format: VideoFormat | None = typer.Option(
        None, "--format", help="tiktok (1080x1920), youtube (1920x1080) or square."
    ),
    script: Path | None = typer.Option(
        None, "--script", help="A hand-written script file instead of a brief."
    ),
    avatar: Path | None = typer.Option(None, "--avatar", help="A portrait image for the host."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the script, its length and the quote; produce nothing."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Plan a video from a brief and produce it on this machine."""
    from cli.demo import DemoRequest, print_json, run_demo

    configure_logging("ERROR")
    if script is not None and brief.strip():
        err.print("[red]error:[/] give either a brief or --script FILE, not both")
        raise typer.Exit(2)
    if script is None and not brief.strip():
        err.print(
            "[red]error:[/] the brief is empty: describe the video, "
            'e.g. skyie demo "a 20-second video about tea"'
        )
        raise typer.Exit(2)
    request = DemoRequest(brief or None, script, out, format, avatar, dry_run, as_json)
    console = Console()
    try:
        result = asyncio.run(run_demo(request, get_settings(), console))
    except SkyieError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from None
    if as_json:
        print_json(result)


@app.command()
def chat(
    conversation: str | None = typer.Option(
        None, "--conversation", help="Continue this conversation."
    ),
    out: Path = typer.Option(Path("out"), "--out", help="Folder for finished videos."),
) -> None:
    """Talk to the studio: describe a video, change it in plain words, approve, get the file."""
    from cli.chat import run_chat

    configure_logging("ERROR")
    try:
        code = asyncio.run(
            run_chat(get_settings(), Console(), conversation_id=conversation, out_dir=out)
        )
    except SkyieError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    worker: bool | None = typer.Option(
        None,
        "--worker/--no-worker",
        help="Run job steps in this process. Default: yes with the embedded broker, "
        "no with Redis (then run `skyie worker`).",
    ),
    migrate: bool = typer.Option(
        True,
        "--migrate/--no-migrate",
        help="Bring the database to head first (off where `skyie migrate` runs once, before "
        "several API replicas start).",
    ),
    log_level: str = typer.Option("WARNING", "--log-level"),
) -> None:
    """Serve the studio: the HTTP API (docs at /docs); embedded mode runs everything in-process."""
    import uvicorn

    from core import migrate as migrations
    from webchat.app import create_studio_app

    configure_logging(log_level)
    settings = get_settings()
    if migrate:
        migrations.upgrade(settings.resolved_database_url)
    application = create_studio_app(settings, run_worker=worker)
    print(f"Skyie Studio on http://{host}:{port}  (API docs: /docs)", flush=True)
    uvicorn.run(application, host=host, port=port, log_level=log_level.lower())


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest version."""
    from core import migrate as migrations

    settings = get_settings()
    migrations.upgrade(settings.resolved_database_url)
    Console().print(f"database at head: {settings.resolved_database_url.split('@')[-1]}")


def _stop_on_signals() -> threading.Event:
    """SIGINT/SIGTERM set the returned event (a graceful stop); a second one exits at once."""
    stop = threading.Event()

    def handle(signum: int, frame: object) -> None:
        if stop.is_set():
            err.print("stopping now, without waiting for running steps")
            raise SystemExit(1)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handle)
    return stop


@app.command()
def worker(
    queues: list[str] = typer.Option(
        None,
        "--queue",
        "-q",
        help="Only these queues: gpu, media (each with its priority queue), or gpu-priority, "
        "media-priority alone (a worker for Pro and Business jobs only). Default: all.",
    ),
    threads: int | None = typer.Option(
        None, "--threads", min=1, max=64, help="Worker threads (default SKYIE_WORKER_THREADS)."
    ),
    grace: float | None = typer.Option(
        None,
        "--grace",
        min=0,
        help="Seconds running steps get to finish on SIGTERM before they are handed back "
        "(default SKYIE_SHUTDOWN_GRACE_S).",
    ),
    schedule: bool = typer.Option(
        True,
        "--schedule/--no-schedule",
        help="Also run the scheduler's duties (one process leads at a time); turn off where "
        "`skyie scheduler` runs.",
    ),
    alive_file: Path | None = typer.Option(
        None, "--alive-file", help="Touch this file every few seconds while healthy."
    ),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """Run job steps from the broker until SIGINT/SIGTERM, then stop gracefully."""
    from jobs.broker import known_queues
    from jobs.worker import JobWorker

    settings = get_settings()
    if settings.is_embedded_broker:
        err.print(
            "[red]error:[/] a separate worker needs a shared broker: set SKYIE_BROKER=redis://…"
        )
        raise typer.Exit(2)
    unknown = set(queues or ()) - set(known_queues())
    if unknown:
        err.print(
            f"[red]error:[/] unknown queue {', '.join(sorted(unknown))}; "
            f"use {', '.join(known_queues())}"
        )
        raise typer.Exit(2)
    configure_logging(log_level)  # after the checks: a refused start leaves logging alone
    stop = _stop_on_signals()
    running = JobWorker(
        settings,
        queues=set(queues) if queues else None,
        threads=threads,
        schedule=schedule,
        alive_file=alive_file,
    ).start()
    print("worker ready", flush=True)
    stop.wait()
    print("worker stopping: running steps get their grace period", flush=True)
    handed = running.stop(grace)
    print(f"worker stopped ({handed} steps handed back)", flush=True)


@app.command()
def scheduler(
    alive_file: Path | None = typer.Option(
        None, "--alive-file", help="Touch this file after each pass that went well."
    ),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """Run the periodic duties until stopped: recovery sweep, lapsed holds, monthly credits,
    and stopping the GPU pod when idle. Several may run; one leads."""
    from jobs.scheduler import Scheduler

    settings = get_settings()
    if settings.is_embedded_broker:
        err.print(
            "[red]error:[/] a separate scheduler needs a shared broker: set "
            "SKYIE_BROKER=redis://… (an embedded studio runs its own)"
        )
        raise typer.Exit(2)
    configure_logging(log_level)
    stop = _stop_on_signals()
    running = Scheduler(settings, alive_file=alive_file).start()
    print("scheduler ready", flush=True)
    stop.wait()
    running.stop()


@app.command()
def alive(
    path: Path = typer.Argument(..., help="The file a worker or scheduler touches."),
    max_age: float = typer.Option(60.0, "--max-age", min=1, help="Seconds."),
) -> None:
    """Health check for containers: exit 0 if PATH was touched within --max-age seconds."""
    import time

    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        print(f"{path} does not exist: the process has not reported healthy yet", file=sys.stderr)
        raise typer.Exit(1) from None
    if age > max_age:
        print(f"{path} is {age:.0f} s old (more than {max_age:g} s): not healthy", file=sys.stderr)
        raise typer.Exit(1)


@app.command()
def bot(
    worker: bool | None = typer.Option(
        None,
        "--worker/--no-worker",
        help="Run job steps in this process. Default: yes with the embedded broker.",
    ),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """Run the Telegram bot by long polling (for a studio on one machine; production can
    take Telegram's webhook in `skyie serve` instead: set SKYIE_TELEGRAM_WEBHOOK_URL)."""
    from bots.telegram.app import run_polling
    from core import migrate as migrations
    from jobs.worker import JobWorker

    configure_logging(log_level)
    settings = get_settings()
    if not settings.telegram_bot_token:
        err.print("[red]error:[/] set SKYIE_TELEGRAM_BOT_TOKEN to the token @BotFather gave you")
        raise typer.Exit(2)
    if settings.telegram_webhook_url:
        err.print(
            "[red]error:[/] SKYIE_TELEGRAM_WEBHOOK_URL is set, so `skyie serve` takes the "
            "updates; unset it to poll"
        )
        raise typer.Exit(2)
    migrations.upgrade(settings.resolved_database_url)
    with_worker = settings.is_embedded_broker if worker is None else worker
    running = JobWorker(settings).start() if with_worker else None
    print("bot polling Telegram; Ctrl-C stops it", flush=True)
    try:
        run_polling(settings)
    finally:
        if running is not None:
            running.stop()


@app.command("gpu-server")
def gpu_server(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8100, "--port"),
) -> None:
    """Serve the GPU inference API (lite CPU engines unless configured otherwise)."""
    import uvicorn

    from gpu.server.app import create_app

    uvicorn.run(create_app(), host=host, port=port)


bench_app = typer.Typer(no_args_is_help=True, help="Measure performance, side by side in one run.")
app.add_typer(bench_app, name="bench")


@bench_app.command("api")
def bench_api(
    clients: int = typer.Option(100, "--clients", min=1, max=1000, help="Concurrent clients."),
    rounds: int = typer.Option(3, "--rounds", min=1, max=100, help="Submissions per client."),
    database_url: str = typer.Option(
        "", "--database-url", help="Benchmark on this database (default: a fresh SQLite)."
    ),
) -> None:
    """Start the server, then measure job-submission latency and chat-turn overhead with the
    offline planner under concurrent clients. Ends with `submit_p99_ms = N`."""
    from cli.bench import chat_turn_in_process, run_api_bench, summary_lines

    configure_logging("ERROR")
    console = Console(stderr=True)
    direct = asyncio.run(chat_turn_in_process(10))
    result = asyncio.run(
        run_api_bench(clients, rounds, database_url, lambda line: console.print(f"[dim]{line}[/]"))
    )
    for line in summary_lines(result, direct):
        print(line, flush=True)


@bench_app.command("render")
def bench_render(
    rounds: int = typer.Option(1, "--rounds", min=1, max=10, help="Timed runs; best of."),
    keep: Path | None = typer.Option(None, "--keep", help="Keep inputs and outputs here."),
) -> None:
    """Make six clips, narration and music, then time the 30 s 1080x1920 production render,
    the five-format export pack and the encode-once limit side by side. Ends with
    `render/limit = X.XX` and `exportpack/limit = X.XX`."""
    import tempfile

    from cli.bench_render import run_render_bench

    configure_logging("ERROR")
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="skyie-bench-") as tmp:
        folder = keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        lines = run_render_bench(folder, lambda line: console.print(f"[dim]{line}[/]"), rounds)
    for line in lines:
        print(line, flush=True)


@bench_app.command("gpu-cost")
def bench_gpu_cost(
    days: int = typer.Option(30, "--days", min=1, max=365, help="Days of use to simulate."),
    jobs_per_day: float = typer.Option(
        100, "--jobs-per-day", min=1, max=10_000, help="Videos ordered per day, on average."
    ),
    pod_boot_s: float = typer.Option(
        40, "--pod-boot-s", min=0, max=1800, help="Seconds a stopped pod takes to resume."
    ),
    price: float = typer.Option(2.69, "--price", min=0.01, help="Dollars per GPU-hour."),
    seed: int = typer.Option(7, "--seed", help="Seed of the simulated arrivals."),
) -> None:
    """Simulate a month of use under our pod policy and three naive ones; print GPU dollars per
    finished video minute and the p95 wait of each. Ends with `cost/inference = X.XX`."""
    from cli.bench_gpu_cost import run_gpu_cost_bench

    console = Console(stderr=True)
    lines = run_gpu_cost_bench(
        lambda line: console.print(f"[dim]{line}[/]"),
        days=days,
        jobs_per_day=jobs_per_day,
        pod_boot_s=pod_boot_s,
        price_per_h=price,
        seed=seed,
    )
    for line in lines:
        print(line, flush=True)


def main() -> None:
    sys.exit(app())


if __name__ == "__main__":
    main()

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
def migrate() -> None:
    """Bring the database schema to the newest version."""
    from core import migrate as migrations

    settings = get_settings()
    migrations.upgrade(settings.resolved_database_url)
    Console().print(f"database at head: {settings.resolved_database_url.split('@')[-1]}")


@app.command()
def worker(
    queues: list[str] = typer.Option(None, "--queue", "-q", help="Only these queues (gpu, media)."),
    threads: int | None = typer.Option(None, "--threads", help="Worker threads."),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """Run job steps from the broker until stopped (SIGINT/SIGTERM)."""
    from jobs.worker import JobWorker

    configure_logging(log_level)
    settings = get_settings()
    if settings.is_embedded_broker:
        err.print(
            "[red]error:[/] a separate worker needs a shared broker: set SKYIE_BROKER=redis://…"
        )
        raise typer.Exit(2)
    unknown = set(queues or ()) - {"gpu", "media"}
    if unknown:
        err.print(f"[red]error:[/] unknown queue {', '.join(sorted(unknown))}; use gpu or media")
        raise typer.Exit(2)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    running = JobWorker(settings, queues=set(queues) if queues else None, threads=threads).start()
    print("worker ready", flush=True)
    stop.wait()
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


def main() -> None:
    sys.exit(app())


if __name__ == "__main__":
    main()

"""Checks of the deployment files (Dockerfiles, docker-compose.yml, .env.example) against the
code they deploy: commands the CLI has, settings that exist, files that are in the build context.

Shared helpers live here; each test module checks one file.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer.main
from pydantic import AliasChoices
from pydantic_settings import BaseSettings
from typer.core import TyperGroup

from cli.main import app
from core.settings import Settings
from gpu.pods.settings import PodSettings
from gpu.server.settings import GpuServerSettings

ROOT = Path(__file__).resolve().parents[2]

# Every settings class an operator configures: the app's, the GPU host's, the GPU server's.
SETTINGS_CLASSES: tuple[type[BaseSettings], ...] = (Settings, PodSettings, GpuServerSettings)

# Packages whose source is read for environment variables looked up outside the settings.
APP_PACKAGES = (
    "core",
    "jobs",
    "tools",
    "agent",
    "gpu",
    "media",
    "billing",
    "api",
    "bots",
    "webchat",
    "cli",
)


def env_names(cls: type[BaseSettings]) -> dict[str, tuple[str, ...]]:
    """Field name -> the environment variables that set it (an alias field has several)."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: dict[str, tuple[str, ...]] = {}
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if alias is None:
            names[field_name] = ((prefix + field_name).upper(),)
        elif isinstance(alias, AliasChoices):
            names[field_name] = tuple(c.upper() for c in alias.choices if isinstance(c, str))
        else:
            names[field_name] = (str(alias).upper(),)
    return names


def skyie_command_error(argv: list[str]) -> str | None:
    """Parse `skyie ARGV` exactly as the CLI would, without running it: None when the command,
    its options and its arguments are all accepted, else what is wrong."""
    command = typer.main.get_command(app)
    name, args = "skyie", list(argv)
    while isinstance(command, TyperGroup):
        ctx = typer.Context(command)
        if not args:
            return f"`{name}` needs a subcommand: {', '.join(command.list_commands(ctx))}"
        sub = command.get_command(ctx, args[0])
        if sub is None:
            known = ", ".join(command.list_commands(ctx))
            return f"`{name}` has no command {args[0]!r} (it has: {known})"
        name, command, args = f"{name} {args[0]}", sub, args[1:]
    try:
        command.make_context(name, args)
    except Exception as exc:  # the CLI's usage errors (click's, vendored by typer)
        message = getattr(exc, "format_message", None)
        return f"`{name}`: {message() if callable(message) else exc}"
    return None


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6}


def duration_s(text: str) -> float:
    """A compose duration ('45s', '1m30s') in seconds."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a compose duration: {text!r}")
    return sum(float(n) * _UNIT_S[u] for n, u in parts)

"""The tool registry: typed tools, their generated JSON schemas, and safe dispatch by name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from core.errors import SkyieError
from core.logging import get_logger
from tools.context import ToolContext

log = get_logger("tools")

Handler = Callable[[ToolContext, Any], Awaitable[BaseModel]]


class ToolInput(BaseModel):
    """Base of every tool's arguments: unknown fields are refused, so a model cannot slip in
    an identity, a balance or a price, even one the tool would ignore."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_model: type[BaseModel]
    handler: Handler
    spends: bool = False

    def schema(self) -> dict[str, Any]:
        schema = self.input_model.model_json_schema()
        schema.pop("title", None)
        return schema


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool call produced: an output model, or an error to show the model (is_error).

    An error keeps the HTTP status and code of its cause, so the API's forms can answer with
    the same meaning (402, 404, 409, 422) that the failure had inside the tool.
    """

    name: str
    output: BaseModel | None = None
    error: str | None = None
    status_code: int = 200
    code: str = "ok"
    # The expected failure itself, for callers that answer with all of it (the API's forms).
    cause: SkyieError | None = None

    @property
    def is_error(self) -> bool:
        return self.error is not None

    def content(self) -> str:
        if self.output is not None:
            return self.output.model_dump_json()
        return self.error or "error"


_TOOLS: dict[str, Tool] = {}


def tool(name: str, description: str, *, spends: bool = False) -> Callable[[Handler], Handler]:
    """Register `handler(ctx, args)`; its second parameter's annotation is the input model."""

    def register(handler: Handler) -> Handler:
        import inspect
        import typing

        hints = typing.get_type_hints(handler)
        params = list(inspect.signature(handler).parameters)
        model = hints[params[1]]
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"tool {name}: the second parameter must be a pydantic model")
        if name in _TOOLS:
            raise ValueError(f"tool {name} is registered twice")
        _TOOLS[name] = Tool(name, description, model, handler, spends)
        return handler

    return register


def all_tools() -> dict[str, Tool]:
    # Importing the modules registers their tools.
    from tools import account, drafting, exports, production, status  # noqa: F401

    return dict(_TOOLS)


def tool_definitions() -> list[dict[str, Any]]:
    """Name, description and generated input schema of every tool, in a stable order."""
    return [
        {"name": t.name, "description": t.description, "input_schema": t.schema()}
        for t in sorted(all_tools().values(), key=lambda t: t.name)
    ]


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:6]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "input"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid arguments — " + "; ".join(parts)


async def call_tool(ctx: ToolContext, name: str, arguments: object) -> ToolOutcome:
    """Run a tool by name. Unknown names, invalid arguments and expected failures come back
    as error outcomes for the model to read, never as exceptions through the loop.

    Each call runs in a savepoint: a failed tool leaves nothing behind in the session.
    """
    tools = all_tools()
    found = tools.get(name)
    if found is None:
        return ToolOutcome(
            name,
            error=f"unknown tool {name!r}; available: {', '.join(sorted(tools))}",
            status_code=404,
            code="unknown_tool",
        )
    try:
        args = found.input_model.model_validate(arguments)
    except ValidationError as exc:
        return ToolOutcome(
            name, error=_validation_message(exc), status_code=422, code="invalid_input"
        )
    try:
        async with ctx.session.begin_nested():
            output = await found.handler(ctx, args)
    except SkyieError as exc:
        return ToolOutcome(
            name, error=exc.message, status_code=exc.status_code, code=exc.code, cause=exc
        )
    except ValidationError as exc:
        # Arguments that pass the input model but break a rule of a model the tool builds
        # from them (a language code's pattern, an all-blank text) are still bad input.
        log.info("tool.invalid", tool=name, user_id=ctx.user_id, error=str(exc.errors()[:3]))
        return ToolOutcome(
            name, error=_validation_message(exc), status_code=422, code="invalid_input"
        )
    except Exception:
        log.exception("tool.crashed", tool=name, user_id=ctx.user_id)
        return ToolOutcome(
            name,
            error=f"{name} failed unexpectedly; nothing was charged",
            status_code=500,
            code="internal_error",
        )
    log.info("tool.called", tool=name, user_id=ctx.user_id, channel=ctx.channel)
    return ToolOutcome(name, output=output)

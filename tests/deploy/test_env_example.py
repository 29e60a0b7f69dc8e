""".env.example documents every setting, names no setting that does not exist, and shows each
optional one with its real default."""

from __future__ import annotations

import ast
import os
import re

import pytest
from pydantic_settings import BaseSettings

from tests.deploy import APP_PACKAGES, ROOT, SETTINGS_CLASSES, env_names

SETTING_LINE = re.compile(r"^(?P<comment>#\s?)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")
ENV_LITERAL = re.compile(r"^SKYIE_[A-Z0-9_]*[A-Z0-9]$")
COMPOSE_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)")


def lines() -> list[str]:
    return (ROOT / ".env.example").read_text().splitlines()


def documented() -> dict[str, tuple[bool, str]]:
    """Every NAME= and # NAME= line: name -> (commented out, value)."""
    found: dict[str, tuple[bool, str]] = {}
    for line in lines():
        match = SETTING_LINE.match(line)
        if match:
            name = match["name"]
            assert name not in found, f".env.example sets {name} twice"
            found[name] = (bool(match["comment"]), match["value"])
    return found


def read_from_environment() -> set[str]:
    """SKYIE_ names the code spells out whole (os.environ lookups and aliases)."""
    names = set()
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and ENV_LITERAL.match(node.value)
                ):
                    names.add(node.value)
    return names


def setting_names() -> set[str]:
    return {n for cls in SETTINGS_CLASSES for names in env_names(cls).values() for n in names}


def compose_variables() -> set[str]:
    return set(COMPOSE_VARIABLE.findall((ROOT / "docker-compose.yml").read_text()))


def test_every_setting_is_documented() -> None:
    names = set(documented())
    missing = [
        f"{cls.__name__}.{field} ({' or '.join(envs)})"
        for cls in SETTINGS_CLASSES
        for field, envs in env_names(cls).items()
        if not names.intersection(envs)
    ]
    assert not missing, f".env.example lacks {missing}"


def test_variables_read_straight_from_the_environment_are_documented() -> None:
    # SKYIE_FFMPEG, SKYIE_VIDEO_ENCODER and the like: read with os.environ, not a settings field.
    direct = read_from_environment() - setting_names()
    missing = direct - set(documented())
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_every_documented_name_is_real() -> None:
    real = setting_names() | read_from_environment() | compose_variables()
    stale = sorted(set(documented()) - real)
    assert not stale, f".env.example names {stale}, which nothing reads"


def test_compose_variables_are_documented() -> None:
    missing = compose_variables() - set(documented())
    assert not missing, f".env.example lacks the compose variables {sorted(missing)}"


def test_each_setting_has_a_comment_above_it() -> None:
    text = lines()
    for i, line in enumerate(text):
        if SETTING_LINE.match(line):
            above = text[i - 1] if i else ""
            described = above.startswith("#") and not SETTING_LINE.match(above)
            assert described, f"{line!r} needs a comment line above saying what it does"


def test_required_values_are_set() -> None:
    values = {name: value for name, (commented, value) in documented().items() if not commented}
    for name in ("POSTGRES_PASSWORD", "ACME_EMAIL", "SKYIE_SECRET_KEY", "SKYIE_PUBLIC_URL"):
        assert values.get(name), f"{name} must be set (uncommented) with a placeholder"
    assert values["SKYIE_PUBLIC_URL"].startswith("https://")


def _empty(value: object) -> bool:
    if value is None:
        return True
    secret = getattr(value, "get_secret_value", None)
    if callable(secret):
        value = secret()
    return value in ("", [], ())


def _comparable(value: object) -> object:
    secret = getattr(value, "get_secret_value", None)
    return secret() if callable(secret) else value


def test_commented_lines_show_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("SKYIE_") or key == "HF_TOKEN":
            monkeypatch.delenv(key)
    checked = 0
    for name, (commented, value) in documented().items():
        if not commented:
            continue
        for cls in SETTINGS_CLASSES:
            for field, envs in env_names(cls).items():
                if name not in envs:
                    continue
                checked += 1
                default = getattr(_defaults(cls), field)
                if value == "":
                    assert _empty(default), f"# {name}= but its default is {default!r}"
                    continue
                with monkeypatch.context() as patch:
                    patch.setenv(name, value)
                    shown = getattr(cls(_env_file=None), field)
                assert _comparable(shown) == _comparable(default), (
                    f"# {name}={value} gives {shown!r}; the default is {default!r}"
                )
    assert checked > 40


def _defaults(cls: type[BaseSettings]) -> BaseSettings:
    return cls(_env_file=None)


def test_no_value_holds_a_dollar_or_quotes() -> None:
    # Compose interpolates $ in .env, and its versions disagree on what quotes mean.
    for name, (_, value) in documented().items():
        assert "$" not in value, f"{name}: a $ in a value is interpolated by compose"
        assert not value.startswith(("'", '"')), f"{name}: write the value without quotes"


def test_the_deploy_guide_names_only_real_variables() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    # Every SKYIE_ name, and any other name written as `NAME` or NAME=.
    named = set(re.findall(r"\b(SKYIE_[A-Z0-9_]*[A-Z0-9])\b", guide))
    named |= set(re.findall(r"`([A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])`", guide))
    named |= set(re.findall(r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])=", guide))
    # FORWARDED_ALLOW_IPS is uvicorn's; the rest must be settings, compose's or the code's.
    real = setting_names() | read_from_environment() | compose_variables()
    real.add("FORWARDED_ALLOW_IPS")
    unknown = sorted(named - real)
    assert not unknown, f"docs/deploy.md names {unknown}, which nothing reads"

"""`skyie demo` as a person runs it: dry runs, bad inputs with clear errors, and nothing held."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
BRIEF = (
    "A 30-second vertical video about three ways to save energy at home, "
    "with a friendly host who opens and closes"
)


def skyie(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SKYIE_HOME": str(home),
        "SKYIE_DATABASE_URL": "",
        "SKYIE_BROKER": "embedded",
        "SKYIE_EVENTS": "embedded",
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "demo", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def ledger_rows(home: Path) -> list[tuple[str, int]]:
    import sqlite3

    db = home / "skyie.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return [
            (k, a)
            for k, a in conn.execute("select kind, amount from credit_entries order by created_at")
        ]


def test_dry_run_prints_script_length_and_quote_as_json(tmp_path: Path) -> None:
    done = skyie(BRIEF, "--dry-run", "--json", home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["script"].startswith("[TALKING]")
    assert abs(result["duration_s"] - 30) <= 3
    assert 20 <= result["credits"] <= 100
    assert result["format"] == "tiktok"
    assert not (tmp_path / "home" / "skyie.db").exists(), "a dry run must not touch the database"


def test_format_option_overrides_the_brief(tmp_path: Path) -> None:
    done = skyie(BRIEF, "--dry-run", "--json", "--format", "youtube", home=tmp_path / "home")
    assert json.loads(done.stdout)["format"] == "youtube"


@pytest.mark.parametrize("brief", ["", "   "])
def test_an_empty_brief_is_refused(tmp_path: Path, brief: str) -> None:
    done = skyie(brief, home=tmp_path / "home")
    assert done.returncode != 0
    assert "brief is empty" in done.stderr
    assert ledger_rows(tmp_path / "home") == []


def test_a_malformed_script_names_the_line_and_holds_nothing(tmp_path: Path) -> None:
    script = tmp_path / "bad.txt"
    script.write_text("[TALKING] Hello.\n[BROLL: a field | soon] Look.\n")
    done = skyie("--script", str(script), home=tmp_path / "home")
    assert done.returncode == 1
    assert "line 2, column 19" in done.stderr and "'soon'" in done.stderr
    assert ledger_rows(tmp_path / "home") == []


def test_an_unreadable_avatar_is_named_and_nothing_is_held(tmp_path: Path) -> None:
    avatar = tmp_path / "me.png"
    avatar.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    home = tmp_path / "home"
    done = skyie("a 10-second video about tea", "--avatar", str(avatar), home=home)
    assert done.returncode == 1
    assert "me.png" in done.stderr and "cannot be read as an image" in done.stderr
    # The local user got starting credits; nothing was held against them.
    assert [kind for kind, _ in ledger_rows(home)] in ([], ["grant"])


def test_a_tiny_avatar_is_refused_with_its_size(tmp_path: Path) -> None:
    avatar = tmp_path / "tiny.png"
    Image.new("RGB", (40, 40), "white").save(avatar)
    done = skyie("a 10-second video about tea", "--avatar", str(avatar), home=tmp_path / "home")
    assert done.returncode == 1
    assert "40x40" in done.stderr

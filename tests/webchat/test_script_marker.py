"""The page colours script markers with one reader (js/script-marker.js); it must read them as
core/script.py does, or the card would colour as valid what the server refuses."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from core.script import ScriptError, parse_script
from webchat.app import STATIC

LINES = [
    "[TALKING] Hello there.",
    "  [talking] lower case, indented",
    "[BROLL: a red kite over hills | 5s] Wind.",
    "[BROLL: rain on glass] Quiet.",
    "[BROLL: a | b | 5s] two bars",
    "[SINGING] la la",
    "narration without a marker",
]


def _read_in_js(lines: list[str]) -> list[dict[str, object] | None]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to run the page's modules outside a browser")
    module = (STATIC / "js" / "script-marker.js").as_uri()
    program = (
        f"import {{ readMarker }} from {json.dumps(module)};"
        f"console.log(JSON.stringify({json.dumps(lines)}.map(readMarker)));"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", program], capture_output=True, text=True, check=True
    )
    result: list[dict[str, object] | None] = json.loads(out.stdout)
    return result


def test_the_page_reads_markers_as_the_server_does() -> None:
    read = dict(zip(LINES, _read_in_js(LINES), strict=True))
    assert read["narration without a marker"] is None
    assert read["[SINGING] la la"]["kind"] is None  # type: ignore[index]
    for line in LINES[:4]:
        segment = parse_script(line).segments[0]
        seen = read[line]
        assert seen is not None and seen["kind"] == segment.kind, line
        if seen["kind"] == "broll":
            assert str(seen["prompt"]).strip() == getattr(segment, "prompt", None), line
    # The server splits at the first bar, so "b | 5s" is the (bad) duration: so does the page.
    assert read["[BROLL: a | b | 5s] two bars"]["duration"] == "| b | 5s"  # type: ignore[index]
    with pytest.raises(ScriptError, match="column"):
        parse_script("[BROLL: a | b | 5s] two bars")

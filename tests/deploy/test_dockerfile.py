"""The Dockerfiles: what they COPY is in the build context (present, not left out by
.dockerignore), the app image holds every package, runs as a user, and starts a real command."""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy import ROOT, skyie_command_error

APP = ROOT / "Dockerfile"
GPU = ROOT / "gpu" / "Dockerfile"
CACHE_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def parse(path: Path) -> list[Instruction]:
    """Instructions with continuation lines joined; comments and blank lines dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = pending + line
        pending = ""
        keyword, _, args = text.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
    assert not pending, f"{path}: a continued line never ends"
    return instructions


def exec_form(args: str) -> list[str]:
    """The JSON (exec) form of CMD, ENTRYPOINT or HEALTHCHECK CMD."""
    parsed = json.loads(args)
    assert isinstance(parsed, list), args
    return [str(part) for part in parsed]


def copy_sources(instruction: Instruction) -> list[str]:
    """What a COPY reads from the build context; [] for a copy from another stage."""
    parts = exec_form(instruction.args) if instruction.args.startswith("[") else None
    if parts is None:
        parts = shlex.split(instruction.args)
    flags = [p for p in parts if p.startswith("--")]
    if any(f.startswith("--from=") for f in flags):
        return []
    paths = [p for p in parts if not p.startswith("--")]
    assert len(paths) >= 2, f"COPY {instruction.args}: needs a source and a destination"
    return paths[:-1]


class DockerIgnore:
    """.dockerignore as Docker reads it: patterns in order, `!` lets a path back in, the last
    pattern that matches a path or one of its parent folders decides."""

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            keep = line.startswith("!")
            pattern = line[1:].strip() if keep else line
            pattern = pattern.strip("/").removeprefix("./")
            self.rules.append((keep, re.compile(self._regex(pattern))))

    @staticmethod
    def _regex(pattern: str) -> str:
        out, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                out, i = out + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                out, i = out + ".*", i + 2
            elif pattern[i] == "*":
                out, i = out + "[^/]*", i + 1
            elif pattern[i] == "?":
                out, i = out + "[^/]", i + 1
            else:
                out, i = out + re.escape(pattern[i]), i + 1
        return f"^{out}$"

    def excluded(self, path: str) -> bool:
        parts = path.strip("/").split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        result = False
        for keep, regex in self.rules:
            if any(regex.match(prefix) for prefix in prefixes):
                result = not keep
        return result


@pytest.fixture(scope="module")
def ignore() -> DockerIgnore:
    return DockerIgnore((ROOT / ".dockerignore").read_text())


def context_files(source: str) -> list[str]:
    """The repository files a COPY source stands for (a folder: its files, caches aside)."""
    path = ROOT / source
    if path.is_file():
        return [source]
    assert path.is_dir(), f"COPY {source}: no such file or folder in the repository"
    return [
        f.relative_to(ROOT).as_posix()
        for f in path.rglob("*")
        if f.is_file() and not CACHE_DIRS.intersection(f.relative_to(ROOT).parts)
    ]


@pytest.mark.parametrize("dockerfile", [APP, GPU], ids=["app", "gpu"])
def test_copy_sources_are_in_the_build_context(dockerfile: Path, ignore: DockerIgnore) -> None:
    copies = [i for i in parse(dockerfile) if i.keyword in ("COPY", "ADD")]
    assert copies, f"{dockerfile} copies nothing"
    for instruction in copies:
        for source in copy_sources(instruction):
            files = context_files(source)
            assert files, f"COPY {source}: the folder is empty"
            left_out = [f for f in files if ignore.excluded(f)]
            assert not left_out, f"COPY {source}: .dockerignore leaves out {left_out[:5]}"


def test_dockerignore_keeps_secrets_and_bulk_out(ignore: DockerIgnore) -> None:
    for path in (".env", ".git/config", ".venv/bin/python", ".skyie/skyie.db", "out/a.mp4"):
        assert ignore.excluded(path), f"{path} must not reach the build context"
    for path in ("tests/conftest.py", "core/__pycache__/settings.cpython-311.pyc"):
        assert ignore.excluded(path), f"{path} must not reach the build context"
    assert not ignore.excluded("core/settings.py")
    assert not ignore.excluded("webchat/static/index.html")


def test_the_app_image_holds_every_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = {s for i in parse(APP) if i.keyword == "COPY" for s in copy_sources(i)}
    missing = packages - copied
    assert not missing, f"Dockerfile does not copy the packages {sorted(missing)}"
    assert {"pyproject.toml", project["project"]["readme"]} <= copied


def test_the_app_image_leaves_out_the_ml_extra() -> None:
    for instruction in parse(APP):
        if instruction.keyword == "RUN":
            assert not re.search(r"\[[^\]]*\bml\b[^\]]*\]", instruction.args), instruction.args
            assert "torch" not in instruction.args, instruction.args


def test_base_images_are_pinned_to_a_tag() -> None:
    for dockerfile in (APP, GPU):
        stages: set[str] = set()
        for instruction in parse(dockerfile):
            if instruction.keyword != "FROM":
                continue
            words = [w for w in instruction.args.split() if not w.startswith("--")]
            image = words[0]
            if len(words) >= 3 and words[1].upper() == "AS":
                stages.add(words[2])
            if image in stages:
                continue
            name, _, tag = image.rpartition(":")
            pinned = "@sha256:" in image or (bool(name) and "/" not in tag and tag != "latest")
            assert pinned, f"{dockerfile.name}: FROM {image} is not pinned to a tag"
    bases = [i.args.split()[0] for i in parse(APP) if i.keyword == "FROM"]
    assert bases and all(b == "python:3.11-slim-bookworm" for b in bases), bases


def final_stage(dockerfile: Path) -> list[Instruction]:
    instructions = parse(dockerfile)
    last_from = max(n for n, i in enumerate(instructions) if i.keyword == "FROM")
    return instructions[last_from:]


def test_the_app_runs_as_a_user_with_data_on_a_volume() -> None:
    stage = final_stage(APP)
    users = [i.args for i in stage if i.keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), f"USER {users}"
    assert any(i.keyword == "VOLUME" and "/data" in i.args for i in stage)
    assert any(i.keyword == "ENV" and "SKYIE_HOME=/data" in i.args for i in stage)
    assert any(i.keyword == "EXPOSE" and i.args.split()[0] == "8000" for i in stage)


def test_the_app_command_and_healthcheck_are_real() -> None:
    stage = final_stage(APP)
    cmd = exec_form([i for i in stage if i.keyword == "CMD"][-1].args)
    assert cmd[0] == "skyie", cmd
    assert skyie_command_error(cmd[1:]) is None, skyie_command_error(cmd[1:])
    assert cmd[cmd.index("--port") + 1] == "8000"
    check = [i for i in stage if i.keyword == "HEALTHCHECK"][-1].args
    assert "CMD [" in check, "HEALTHCHECK CMD in exec form"
    probe = " ".join(exec_form(check[check.index("CMD [") + 4 :]))
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", probe)
    assert url, probe
    assert url[1] == "8000"
    from api.system import router

    assert url[2] in {getattr(route, "path", None) for route in router.routes}, url[2]


def test_the_gpu_image_runs_the_gpu_server() -> None:
    cmd = exec_form([i for i in final_stage(GPU) if i.keyword == "CMD"][-1].args)
    assert cmd[:2] == ["python", "-m"], cmd
    assert importlib.util.find_spec(f"{cmd[2]}.__main__") is not None, f"no module {cmd[2]}"

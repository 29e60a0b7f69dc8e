"""docker-compose.yml, as Debian's docker-compose 1.29 reads it with .env.example as the .env:
it validates, it names the services the deployment needs, and every app container gets a
command the CLI accepts and an environment the settings accept."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from starlette.routing import Match

from core.settings import PLACEHOLDERS, Settings
from gpu.pods.settings import PodSettings
from tests.deploy import ROOT, duration_s, skyie_command_error

COMPOSE = "docker-compose"
APP_SERVICES = ("migrate", "api", "worker-media", "worker-gpu", "scheduler")
WORKERS = ("worker-media", "worker-gpu")
LONG_RUNNING = ("traefik", "postgres", "redis", "api", "worker-media", "worker-gpu", "scheduler")
HOSTS = ("studio.skyie.tech", "studio-api.skyie.tech")


def compose_config(folder: Path, env_text: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` on a copy of docker-compose.yml with `env_text` as its .env,
    in a clean environment (no DOCKER_HOST, none of the caller's variables)."""
    exe = shutil.which(COMPOSE)
    if exe is None:
        pytest.fail(
            "docker-compose is not installed: run `make test`, which installs Debian's "
            "docker-compose (or `apt-get install --no-install-recommends docker-compose`)"
        )
    shutil.copy(ROOT / "docker-compose.yml", folder / "docker-compose.yml")
    (folder / ".env").write_text(env_text)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(folder)}
    return subprocess.run(
        [exe, "-f", "docker-compose.yml", "--env-file", ".env", "config"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def env_example() -> str:
    return (ROOT / ".env.example").read_text()


def env_example_values() -> dict[str, str]:
    """The uncommented NAME=value lines of .env.example."""
    values = {}
    for line in env_example().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name.strip()] = value.strip()
    return values


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = compose_config(tmp_path_factory.mktemp("compose"), env_example())
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    parsed = yaml.safe_load(result.stdout)
    assert isinstance(parsed, dict)
    return parsed


def services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(config["services"])


def as_list(command: object) -> list[str]:
    assert isinstance(command, list), f"write commands as lists, not {command!r}"
    return [str(part) for part in command]


def test_the_deployment_has_every_service(config: dict[str, Any]) -> None:
    missing = set(LONG_RUNNING + APP_SERVICES) - set(services(config))
    assert not missing, f"docker-compose.yml lacks {sorted(missing)}"


def test_long_running_services_have_a_healthcheck_and_restart(config: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        service = services(config)[name]
        assert service.get("restart") == "unless-stopped", f"{name}: restart: unless-stopped"
        check = service.get("healthcheck") or {}
        assert check.get("test") and check["test"][0] != "NONE", f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name}'s healthcheck is disabled"


def test_migrate_runs_once_before_the_app(config: dict[str, Any]) -> None:
    all_services = services(config)
    migrate = all_services["migrate"]
    assert as_list(migrate["command"]) == ["skyie", "migrate"]
    assert migrate.get("restart") == "no", "migrate is one-shot: restart: 'no'"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", *WORKERS, "scheduler"):
        needs = all_services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully", name
        assert needs["postgres"]["condition"] == "service_healthy", name
        assert needs["redis"]["condition"] == "service_healthy", name
    api = as_list(all_services["api"]["command"])
    assert "--no-migrate" in api, "the API must leave migrations to the migrate service"
    assert "--no-worker" in api, "the API must leave job steps to the workers"


def test_every_skyie_command_is_one_the_cli_accepts(config: dict[str, Any]) -> None:
    checked = 0
    for name, service in services(config).items():
        commands = []
        if "command" in service and as_list(service["command"])[0] == "skyie":
            commands.append(as_list(service["command"]))
        test = (service.get("healthcheck") or {}).get("test") or []
        if len(test) > 1 and test[0] == "CMD" and test[1] == "skyie":
            commands.append([str(part) for part in test[1:]])
        for argv in commands:
            error = skyie_command_error(argv[1:])
            assert error is None, f"{name}: {' '.join(argv)}: {error}"
            checked += 1
    assert checked >= len(APP_SERVICES) + len(WORKERS) + 1


def test_the_command_checker_rejects_what_the_cli_would() -> None:
    assert skyie_command_error(["no-such-command"]) is not None
    assert skyie_command_error(["worker", "--no-such-option"]) is not None
    assert skyie_command_error(["serve", "--port", "eighty"]) is not None
    assert skyie_command_error(["migrate"]) is None


def test_workers_and_scheduler_report_alive_on_the_file_their_healthcheck_reads(
    config: dict[str, Any],
) -> None:
    for name in (*WORKERS, "scheduler"):
        service = services(config)[name]
        command = as_list(service["command"])
        assert "--alive-file" in command, f"{name} must touch an alive file"
        alive_file = command[command.index("--alive-file") + 1]
        test = [str(part) for part in service["healthcheck"]["test"]]
        assert test[:4] == ["CMD", "skyie", "alive", alive_file], f"{name}: {test}"


def test_worker_queues(config: dict[str, Any]) -> None:
    def queues(name: str) -> list[str]:
        command = as_list(services(config)[name]["command"])
        return [command[i + 1] for i, part in enumerate(command) if part in ("--queue", "-q")]

    assert queues("worker-media") == ["media"]
    assert queues("worker-gpu") == ["gpu"]


def test_workers_get_longer_to_stop_than_their_grace(config: dict[str, Any]) -> None:
    default = Settings.model_fields["shutdown_grace_s"].default
    configured = env_example_values().get("SKYIE_SHUTDOWN_GRACE_S")
    grace = float(configured) if configured else float(default)
    for name in WORKERS:
        service = services(config)[name]
        assert service.get("stop_signal", "SIGTERM") == "SIGTERM", name
        period = duration_s(str(service.get("stop_grace_period", "10s")))
        assert period > grace, (
            f"{name}: stop_grace_period {period:g}s must exceed SKYIE_SHUTDOWN_GRACE_S "
            f"({grace:g}s), or Docker kills steps that were finishing"
        )


def test_data_lives_on_named_volumes(config: dict[str, Any]) -> None:
    volumes = set(config.get("volumes") or {})
    assert {"studio-data", "postgres-data", "redis-data", "letsencrypt"} <= volumes
    all_services = services(config)

    def mounts(name: str) -> dict[str, str]:
        found = {}
        for volume in all_services[name].get("volumes") or []:
            source, target = str(volume).split(":")[:2]
            found[target] = source
        return found

    assert mounts("postgres")["/var/lib/postgresql/data"] == "postgres-data"
    assert mounts("redis")["/data"] == "redis-data"
    assert mounts("traefik")["/letsencrypt"] == "letsencrypt"
    for name in APP_SERVICES:
        assert mounts(name).get("/data") == "studio-data", f"{name} must share /data"
        assert all_services[name]["environment"]["SKYIE_HOME"] == "/data", name


def test_app_services_run_one_image_wired_to_postgres_and_redis(config: dict[str, Any]) -> None:
    all_services = services(config)
    images = {all_services[name]["image"] for name in APP_SERVICES}
    assert images == {"skyie-studio:latest"}, images
    assert any("build" in all_services[name] for name in APP_SERVICES)
    password = env_example_values()["POSTGRES_PASSWORD"]
    assert all_services["postgres"]["environment"]["POSTGRES_PASSWORD"] == password
    for name in APP_SERVICES:
        env = all_services[name]["environment"]
        assert env["SKYIE_DATABASE_URL"] == f"postgresql://skyie:{password}@postgres:5432/skyie"
        assert env["SKYIE_BROKER"] == "redis://redis:6379/0", name
        assert env["SKYIE_EVENTS"] == "redis://redis:6379/0", name
        # env_file: .env reaches every app container.
        assert env["SKYIE_PUBLIC_URL"] == env_example_values()["SKYIE_PUBLIC_URL"], name


def test_each_app_container_environment_is_a_valid_configuration(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in APP_SERVICES:
        for key in list(os.environ):
            if key.startswith("SKYIE_"):
                monkeypatch.delenv(key)
        for key, value in services(config)[name]["environment"].items():
            value = "" if value is None else str(value)
            # The operator replaces the placeholders (the next test: they are refused as is).
            monkeypatch.setenv(key, secrets.token_hex(16) if value in PLACEHOLDERS else value)
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        pods = PodSettings(_env_file=None)  # type: ignore[call-arg]
        assert not settings.is_embedded_broker, name
        assert settings.resolved_database_url.startswith("postgresql+asyncpg://"), name
        assert pods.gpu_host == "runpod" and pods.runpod_pool, name


def test_the_example_secrets_must_be_replaced(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = services(config)["api"]["environment"]
    for key in list(os.environ):
        if key.startswith("SKYIE_"):
            monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, "" if value is None else str(value))
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)  # type: ignore[call-arg]
    message = str(refused.value)
    assert "SKYIE_SECRET_KEY is still the placeholder 'change-me'" in message
    assert "SKYIE_GPU_API_KEY is still the placeholder" in message


def test_traefik_serves_both_hosts_over_https(config: dict[str, Any]) -> None:
    all_services = services(config)
    traefik = all_services["traefik"]
    assert str(traefik["image"]).startswith("traefik:v3"), traefik["image"]
    flags = [str(part) for part in traefik["command"]]
    assert "--providers.docker.exposedByDefault=false" in flags
    email = env_example_values()["ACME_EMAIL"]
    assert any(f.endswith(f".acme.email={email}") for f in flags), "ACME_EMAIL sets the email"
    resolvers = {f.split(".")[1] for f in flags if f.startswith("--certificatesresolvers.")}
    assert "/var/run/docker.sock:/var/run/docker.sock:ro" in traefik["volumes"]
    # docker-compose 1.29 prints ports long-form ({published, target}); others short-form.
    published = {
        str(p["published"]) if isinstance(p, dict) else str(p).split(":")[0]
        for p in traefik["ports"]
    }
    assert {"80", "443"} <= published, traefik["ports"]

    labels = all_services["api"]["labels"]
    assert labels["traefik.enable"] == "true"
    routers = {k.split(".")[3] for k in labels if k.startswith("traefik.http.routers.")}
    for host in HOSTS:
        serving = [
            r for r in routers if f"Host(`{host}`)" in labels[f"traefik.http.routers.{r}.rule"]
        ]
        assert serving, f"no Traefik router for {host}"
        for router in serving:
            prefix = f"traefik.http.routers.{router}"
            assert labels[f"{prefix}.tls.certresolver"] in resolvers, router
            assert labels[f"{prefix}.entrypoints"] == "websecure", router
    ports = [v for k, v in labels.items() if k.endswith(".loadbalancer.server.port")]
    assert ports == ["8000"], ports
    assert "--port" in (command := as_list(all_services["api"]["command"]))
    assert command[command.index("--port") + 1] == "8000"
    for name in set(all_services) - {"api", "traefik"}:
        enabled = (all_services[name].get("labels") or {}).get("traefik.enable")
        assert enabled != "true", f"{name} must not be exposed"


def test_hosts_and_image_come_from_the_env_file(tmp_path: Path) -> None:
    env_text = env_example() + (
        "\nSTUDIO_HOST=video.example.org\nSTUDIO_API_HOST=api.example.org\n"
        "SKYIE_IMAGE=registry.example.org/skyie:1.2\n"
    )
    result = compose_config(tmp_path, env_text)
    assert result.returncode == 0, result.stderr
    parsed = yaml.safe_load(result.stdout)["services"]
    rules = " ".join(v for k, v in parsed["api"]["labels"].items() if k.endswith(".rule"))
    assert "Host(`video.example.org`)" in rules and "Host(`api.example.org`)" in rules
    assert {parsed[name]["image"] for name in APP_SERVICES} == {"registry.example.org/skyie:1.2"}


def test_a_missing_postgres_password_stops_compose_with_a_clear_message(tmp_path: Path) -> None:
    env_text = "\n".join(
        line for line in env_example().splitlines() if not line.startswith("POSTGRES_PASSWORD=")
    )
    result = compose_config(tmp_path, env_text)
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr


def guide() -> str:
    return (ROOT / "docs" / "deploy.md").read_text()


def test_every_skyie_command_in_the_deploy_guide_is_accepted() -> None:
    checked = 0
    # Inline code, and every line (code blocks); a command ends at a shell operator. `skyie`
    # starts a command at the start of one, or after an image name (docker run IMAGE skyie ...).
    for line in re.findall(r"`([^`\n]+)`", guide()) + guide().splitlines():
        for part in re.split(r"&&|\|\|?|;|>", line):
            words = part.split()
            starts = [
                i for i, w in enumerate(words) if w == "skyie" and (i == 0 or ":" in words[i - 1])
            ]
            if not starts or starts[0] + 1 == len(words):
                continue
            argv = words[starts[0] + 1 :]
            error = skyie_command_error(argv)
            assert error is None, f"docs/deploy.md: {line.strip()}: {error}"
            checked += 1
    assert checked >= 5


def test_every_address_in_the_deploy_guide_is_served(tmp_path: Path) -> None:
    from bots.telegram import webhook
    from webchat.app import create_studio_app

    app = create_studio_app(Settings(home=tmp_path, _env_file=None))  # type: ignore[call-arg]

    def served(path: str) -> bool:
        # Telegram's route is added only with a bot token; any method counts (PARTIAL).
        scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
        matches = (route.matches(scope)[0] for route in app.router.routes)
        return path == webhook.PATH or any(m != Match.NONE for m in matches)

    named = re.findall(r"https://studio(?:-api)?\.skyie\.tech(/[\w/.-]*)", guide())
    named += re.findall(r"http://(?:api|127\.0\.0\.1):8000(/[\w/.-]*)", guide())
    assert len(named) >= 5
    unknown = sorted({path for path in named if not served(path)})
    assert not unknown, f"docs/deploy.md names {unknown}, which the API does not serve"

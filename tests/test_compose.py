"""compose.yaml, validated by Docker Compose itself (offline: `config` resolves and checks the file
without pulling or building anything), then read back for what the team setup relies on."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml
from conftest import unavailable

COMPOSE = Path(__file__).parents[1] / "compose.yaml"


def compose_cli() -> list[str]:
    """The Compose v2 plugin where Docker has it, else the standalone docker-compose."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    unavailable("neither `docker compose` nor `docker-compose` is installed")
    raise AssertionError  # unreachable: unavailable skips or fails


def config(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ARCHLAB_")}
    return subprocess.run([*compose_cli(), "-f", str(COMPOSE), "config"], env=clean | env, capture_output=True,
                          text=True, timeout=60)


def test_compose_file_validates_and_wires_the_team_setup() -> None:
    result = config(ARCHLAB_POSTGRES_PASSWORD="s3cret", ARCHLAB_WEB_TOKEN="t0ken")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"postgres", "ray-head", "ray-gpu-worker", "archlab", "web"} <= services.keys()
    assert "pgvector" in services["postgres"]["image"]
    for name in ("postgres", "ray-head", "ray-gpu-worker"):
        assert services[name]["healthcheck"]["test"], name
    for name, service in services.items():
        for dependency in (service.get("depends_on") or {}).values():
            assert dependency["condition"] == "service_healthy", name
    devices = services["ray-gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    build = services["ray-head"]["build"]
    assert (Path(build["context"]) / build["dockerfile"]).is_file()
    env = services["archlab"]["environment"]
    assert env["ARCHLAB_DATABASE_URL"].startswith("postgresql+psycopg://archlab:s3cret@postgres:5432/")
    web = services["web"]
    assert web["environment"]["ARCHLAB_WEB_TOKEN"] == "t0ken" and "--host" in web["command"]
    assert web["environment"]["ARCHLAB_DATABASE_URL"] == env["ARCHLAB_DATABASE_URL"]
    [port] = web["ports"]  # Compose v2 writes the long form, the standalone v1 keeps the short one
    published = port if isinstance(port, str) else f"{port['host_ip']}:{port['published']}:{port['target']}"
    assert published.removesuffix("/tcp") == "127.0.0.1:8765:8765"


def test_compose_refuses_to_start_the_web_app_without_a_token() -> None:
    result = config(ARCHLAB_POSTGRES_PASSWORD="s3cret")
    assert result.returncode != 0 and "ARCHLAB_WEB_TOKEN" in result.stderr


def test_compose_refuses_to_start_without_the_password() -> None:
    result = config(ARCHLAB_WEB_TOKEN="t0ken")
    assert result.returncode != 0 and "ARCHLAB_POSTGRES_PASSWORD" in result.stderr

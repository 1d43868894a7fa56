"""deploy/ checked statically (no Docker engine runs here), and the image's
Python environment built the way the Dockerfile builds it, then served."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.server import ADMIN_TOKEN, ROOT, free_port

DEPLOY = ROOT / "deploy"


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    instructions = dockerfile_instructions()
    known = {
        "FROM",
        "RUN",
        "COPY",
        "ENV",
        "WORKDIR",
        "USER",
        "VOLUME",
        "EXPOSE",
        "HEALTHCHECK",
        "STOPSIGNAL",
        "ENTRYPOINT",
        "CMD",
        "ARG",
        "LABEL",
    }
    assert {name for name, _ in instructions} <= known
    stages = [args for name, args in instructions if name == "FROM"]
    assert len(stages) >= 2 and all(" AS " in s.upper() for s in stages)
    users = [args for name, args in instructions if name == "USER"]
    assert users and users[-1] not in ("root", "0")
    healthcheck = next(args for name, args in instructions if name == "HEALTHCHECK")
    assert "/readyz" in healthcheck
    assert any(name == "VOLUME" and "/var/lib/levelstream" in args for name, args in instructions)
    copies = [args for name, args in instructions if name == "COPY" and "--from" not in args]
    for args in copies:
        for source in args.split()[:-1]:
            assert (ROOT / source).exists(), f"COPY source {source} is missing"


def test_dockerfile_builds_and_runs_on_one_python_the_suite_runs_on() -> None:
    """The runtime stage gets the build stage's venv, which only runs on the Python it was
    built with; and that Python is one `make test` runs the whole suite on (3.13 or later:
    plyvel-next, the binding the benchmarks measure), not only the store's contract tests."""
    stages = [args.split()[0] for name, args in dockerfile_instructions() if name == "FROM"]
    assert len(set(stages)) == 1, stages
    version = re.fullmatch(r"python:(3\.\d+)-slim-\w+", stages[0])
    assert version, stages[0]
    assert tuple(int(part) for part in version.group(1).split(".")) >= (3, 13)


def test_compose_file_parses_and_uses_a_volume() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    service = compose["services"]["levelstream"]
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert any("/var/lib/levelstream" in v for v in service["volumes"])
    assert "levelstream-data" in compose["volumes"]


def test_kubernetes_statefulset_one_replica_with_probes_and_limits() -> None:
    documents = list(yaml.safe_load_all((DEPLOY / "k8s" / "levelstream.yaml").read_text()))
    kinds = {d["kind"]: d for d in documents}
    assert {"Service", "StatefulSet"} <= set(kinds)
    spec = kinds["StatefulSet"]["spec"]
    assert spec["replicas"] == 1  # one process per LevelDB directory
    assert spec["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    container = spec["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_systemd_unit_is_hardened() -> None:
    text = (DEPLOY / "systemd" / "levelstream.service").read_text()
    sections = re.findall(r"^\[(\w+)\]", text, re.MULTILINE)
    assert sections == ["Unit", "Service", "Install"]
    settings = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )
    assert settings["ExecStart"].endswith("levelstream serve")
    for option in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp", "ProtectHome"):
        assert option in settings
    assert settings["User"] != "root"


@pytest.mark.timeout(600)
def test_image_environment_builds_and_serves(tmp_path: Path) -> None:
    """What the Dockerfile's build stage does (`python -m venv`, `pip install .`), then serve."""
    venv = tmp_path / "opt-levelstream"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, str(ROOT)], check=True, cwd=tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "LEVELSTREAM_DATA_DIR": str(tmp_path / "data"),
        "LEVELSTREAM_ADMIN_TOKEN": ADMIN_TOKEN,
        "PORT": str(port),
    }
    proc = subprocess.Popen([str(venv / "bin" / "levelstream"), "serve"], cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and status != 200:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code
            except httpx.HTTPError:
                time.sleep(0.1)
        assert status == 200
    finally:
        proc.terminate()
        assert proc.wait(20) == 0


# --- the cluster mode (deploy/cluster/) ------------------------------------------------


def test_cluster_compose_runs_three_nodes_on_postgres_and_redis_behind_nginx() -> None:
    compose = yaml.safe_load((DEPLOY / "cluster" / "docker-compose.yml").read_text())
    services = compose["services"]
    nodes = {
        name: s
        for name, s in services.items()
        if "LEVELSTREAM_STORE_URL" in s.get("environment", {})
    }
    assert len(nodes) == 3
    assert {"postgres", "redis", "nginx"} <= set(services)
    for node in nodes.values():
        env = node["environment"]
        assert node["build"]["dockerfile"] == "deploy/Dockerfile"
        assert env["LEVELSTREAM_STORE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in env["LEVELSTREAM_STORE_URL"]
        assert env["LEVELSTREAM_BUS_URL"].startswith("redis://redis:")
        # Shared secrets: a key or token made on one node must work on the others.
        for name in ("LEVELSTREAM_ADMIN_TOKEN", "LEVELSTREAM_JWT_SECRET"):
            assert env[name].startswith("${") and ":?" in env[name]
        assert node["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert node["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "ports" not in node, "nodes are reached through the load balancer only"
    # The build context is relative to the compose file: the repository root.
    assert (
        DEPLOY / "cluster" / nodes["node1"]["build"]["context"] / "pyproject.toml"
    ).resolve() == (ROOT / "pyproject.toml")
    nginx = services["nginx"]
    assert nginx["ports"] == ["127.0.0.1:8000:8000"]
    nginx_ip = nginx["networks"]["levelstream"]["ipv4_address"]
    for node in nodes.values():
        assert node["environment"]["LEVELSTREAM_TRUSTED_PROXIES"] == f"{nginx_ip}/32"
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]


def test_cluster_nginx_upgrades_websockets_and_does_not_buffer_streams() -> None:
    conf = (DEPLOY / "cluster" / "nginx.conf").read_text()
    upstream = re.search(r"upstream levelstream \{(.*?)\}", conf, re.DOTALL)
    assert upstream is not None
    assert re.findall(r"server (node\d):8000", upstream.group(1)) == ["node1", "node2", "node3"]
    for line in (
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_buffering off;",
        "proxy_pass http://levelstream;",
    ):
        assert line in conf, line
    timeout = re.search(r"proxy_read_timeout (\d+)s;", conf)
    assert timeout is not None and int(timeout.group(1)) >= 60  # past a 60 s long-poll
    assert "$request " not in conf and "$request_uri" not in conf, "URLs carry tokens"
    assert conf.count("{") == conf.count("}")


def test_cluster_kubernetes_deployment_with_shared_secrets_and_probes() -> None:
    path = DEPLOY / "cluster" / "k8s" / "levelstream-cluster.yaml"
    documents = list(yaml.safe_load_all(path.read_text()))
    kinds = {d["kind"]: d for d in documents}
    assert {"Service", "Deployment", "PodDisruptionBudget", "Ingress"} <= set(kinds)
    assert "StatefulSet" not in kinds
    spec = kinds["Deployment"]["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    for name in (
        "LEVELSTREAM_STORE_URL",
        "LEVELSTREAM_BUS_URL",
        "LEVELSTREAM_ADMIN_TOKEN",
        "LEVELSTREAM_JWT_SECRET",
    ):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "levelstream-cluster", name
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert not any("persistentVolumeClaim" in v for v in pod.get("volumes", []))
    selector = spec["selector"]["matchLabels"]
    assert kinds["Service"]["spec"]["selector"] == selector
    assert kinds["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector
    annotations = kinds["Ingress"]["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 60

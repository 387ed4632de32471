"""The deployment files keep their promises: non-root, read-only, probed, bounded, secrets outside.

The Kubernetes rules are checked on what `kubectl kustomize deploy/k8s` renders (skipped without kubectl),
docker-compose.yml's by reading it and against the compose-spec schema (as deploy/validate.sh checks it;
`docker compose config` runs there too where the plugin is installed), and deploy/entrypoint.sh by running it with a stand-in `python`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
WORKLOADS = ("Deployment", "StatefulSet", "Job")


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: cannot render deploy/k8s with kustomize")
    out = subprocess.run([kubectl, "kustomize", str(K8S)], check=True, capture_output=True, text=True, timeout=60)
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def _by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def _pod_specs(docs: list[dict]) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc["spec"]["template"]["spec"] for doc in docs if doc["kind"] in WORKLOADS}


def test_kustomize_renders_every_component(rendered):
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in rendered}
    assert {
        ("Namespace", "summarybot"),
        ("ConfigMap", "summarybot-config"),
        ("Deployment", "summarybot-web"),
        ("Service", "summarybot-web"),
        ("Ingress", "summarybot-web"),
        ("Deployment", "summarybot-worker"),
        ("HorizontalPodAutoscaler", "summarybot-worker"),
        ("StatefulSet", "summarybot-bot"),
        ("Job", "summarybot-migrate"),
        ("PodDisruptionBudget", "summarybot-web"),
        ("PodDisruptionBudget", "summarybot-worker"),
        ("PodDisruptionBudget", "summarybot-bot"),
    } <= kinds
    assert all(doc["metadata"].get("namespace") == "summarybot" for doc in rendered if doc["kind"] != "Namespace")


def test_no_secret_is_applied_and_the_template_holds_no_values(rendered):
    assert not _by_kind(rendered, "Secret"), "kubectl apply -k must never overwrite the operator's Secret"
    template = yaml.safe_load((K8S / "secret.example.yaml").read_text())
    assert set(template["stringData"].values()) == {""}
    config = _by_kind(rendered, "ConfigMap")["summarybot-config"]["data"]
    files = {key.removesuffix("_FILE") for key in config if key.endswith("_FILE")}
    assert files <= set(template["stringData"]), "every <NAME>_FILE must name a key the Secret template has"
    for key in files:
        assert config[f"{key}_FILE"] == f"/run/secrets/summarybot/{key}"
    assert not files & set(config), "a secret's value itself must never be in the ConfigMap"


def test_every_container_is_non_root_read_only_and_bounded(rendered):
    for name, spec in _pod_specs(rendered).items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0, name
        assert spec["automountServiceAccountToken"] is False, name
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        assert "emptyDir" in volumes["tmp"], name
        for container in spec.get("initContainers", []) + spec["containers"]:
            where = f"{name}/{container['name']}"
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            assert mounts.get("/tmp") == "tmp", where
            assert container["image"].startswith("summarybot"), where


def test_web_is_probed_on_health_and_ready_with_an_allowed_host(rendered):
    web = _pod_specs(rendered)["summarybot-web"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/health"
    assert web["readinessProbe"]["httpGet"]["path"] == "/ready"
    allowed = _by_kind(rendered, "ConfigMap")["summarybot-config"]["data"]["DJANGO_ALLOWED_HOSTS"].split(",")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        headers = {h["name"]: h["value"] for h in web[probe]["httpGet"].get("httpHeaders", [])}
        # Django answers 400 to a Host it does not allow, and the kubelet's default Host is the pod's address.
        assert headers.get("Host") in allowed, probe
    ingress_host = _by_kind(rendered, "Ingress")["summarybot-web"]["spec"]["rules"][0]["host"]
    assert ingress_host in allowed


def test_bot_runs_one_pod_per_shard(rendered):
    bot = _by_kind(rendered, "StatefulSet")["summarybot-bot"]
    env = {item["name"]: item.get("value") for item in bot["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["SHARD_IDS_FROM_HOSTNAME"] == "true"
    assert env["SHARD_COUNT"] == str(bot["spec"]["replicas"])


def test_workers_autoscale_and_disruptions_are_bounded(rendered):
    hpa = _by_kind(rendered, "HorizontalPodAutoscaler")["summarybot-worker"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "summarybot-worker"}
    assert 1 <= hpa["minReplicas"] < hpa["maxReplicas"]
    workloads = {**_by_kind(rendered, "Deployment"), **_by_kind(rendered, "StatefulSet")}
    for name, pdb in _by_kind(rendered, "PodDisruptionBudget").items():
        selected = workloads[name]["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= selected.items(), name



def test_worker_and_bot_pods_serve_metrics_on_a_named_port_prometheus_can_find(rendered):
    config = _by_kind(rendered, "ConfigMap")["summarybot-config"]["data"]
    port = int(config["METRICS_PORT"])
    assert config["METRICS_BIND"] == "0.0.0.0" and config["METRICS_TOKEN_FILE"]  # reachable, behind the token
    workloads = {**_by_kind(rendered, "Deployment"), **_by_kind(rendered, "StatefulSet")}
    for name in ("summarybot-worker", "summarybot-bot"):
        template = workloads[name]["spec"]["template"]
        [container] = template["spec"]["containers"]
        assert {"name": "metrics", "containerPort": port} in container["ports"], name
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == str(port), name
    [service_port] = _by_kind(rendered, "Service")["summarybot-bot"]["spec"]["ports"]
    assert service_port["targetPort"] == "metrics"

# --- docker-compose.yml -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_app_services_wait_for_migrate_and_run_read_only(compose):
    services = compose["services"]
    assert services["postgres"]["healthcheck"]["test"][-1].startswith("pg_isready")
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert services["migrate"]["command"] == ["migrate"] and services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "bot"):
        service = services[name]
        assert service["command"] == [name]
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}, name
    for name in ("migrate", "web", "worker", "bot"):
        service = services[name]
        assert service["env_file"] == ".env", name
        assert service["read_only"] is True and "/tmp" in service["tmpfs"], name
        assert service["cap_drop"] == ["ALL"], name
    assert "entrypoint.sh" in " ".join(services["web"]["healthcheck"]["test"])
    # Scalable: nothing that two copies of a worker could not share.
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]
    # Worker and bot metrics: on the compose network only, never published on the host.
    port = compose["x-app"]["environment"]["METRICS_PORT"]
    assert compose["x-app"]["environment"]["METRICS_BIND"] == "0.0.0.0"
    for name in ("worker", "bot"):
        assert services[name]["expose"] == [port] and "ports" not in services[name], name
    assert {"postgres-data", "redis-data"} <= set(compose["volumes"])
    for service in services.values():
        for mount in service.get("volumes", []):
            assert mount.split(":")[0] in compose["volumes"], f"{mount}: only named volumes"


def test_compose_holds_no_secret_values(compose):
    text = (ROOT / "docker-compose.yml").read_text()
    # Secrets come from .env by interpolation only, and a missing one stops compose with its name.
    assert "${POSTGRES_PASSWORD:?" in text
    for service in compose["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key or "SECRET" in key or "TOKEN" in key:
                assert str(value).startswith("${"), key
    assert re.search(r"^POSTGRES_PASSWORD=$", (ROOT / ".env.example").read_text(), re.MULTILINE)



def _check_compose_schema(path: Path) -> subprocess.CompletedProcess:
    """What deploy/validate.sh runs: the compose-spec JSON schema that check-jsonschema ships (no network)."""
    checker = Path(sys.executable).with_name("check-jsonschema")
    return subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_compose_file_matches_the_compose_spec_schema():
    result = _check_compose_schema(ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_schema_check_fails_on_a_broken_compose_file(tmp_path):
    # A misspelt key and a wrong type: what `docker compose config` would refuse, so must the CI check.
    broken = (ROOT / "docker-compose.yml").read_text().replace("cap_drop: [ALL]", "cap_drops: [ALL]", 1)
    broken = broken.replace("stop_grace_period: 60s", "stop_grace_period: [60s]", 1)
    copy = tmp_path / "docker-compose.yml"
    copy.write_text(broken)
    result = _check_compose_schema(copy)
    assert result.returncode == 1
    assert "'cap_drops' was unexpected" in result.stdout
    assert "stop_grace_period" in result.stdout


# --- deploy/entrypoint.sh ----------------------------------------------------------------------------------
@pytest.fixture
def fake_python(tmp_path: Path) -> Path:
    """A `python` that prints its arguments and shard settings instead of starting Django."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text('#!/bin/sh\necho "args=$* SHARD_COUNT=${SHARD_COUNT:-} SHARD_IDS=${SHARD_IDS:-}"\n')
    fake.chmod(0o755)
    return bin_dir


def _entrypoint(bin_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {"PATH": f"{bin_dir}:/usr/bin:/bin", **env}
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=environment, capture_output=True, text=True, timeout=30, check=False
    )


def test_entrypoint_takes_the_shard_from_the_stateful_set_pod_name(fake_python):
    result = _entrypoint(
        fake_python, "bot", HOSTNAME="summarybot-bot-3", SHARD_COUNT="4", SHARD_IDS_FROM_HOSTNAME="true"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "args=manage.py runbot SHARD_COUNT=4 SHARD_IDS=3"


@pytest.mark.parametrize(("hostname", "count"), [("summarybot-bot-4", "4"), ("summarybot-bot", "4"), ("bot-0", "")])
def test_entrypoint_refuses_a_pod_outside_the_shard_count(fake_python, hostname, count):
    result = _entrypoint(fake_python, "bot", HOSTNAME=hostname, SHARD_COUNT=count, SHARD_IDS_FROM_HOSTNAME="true")
    assert result.returncode == 64
    assert "entrypoint:" in result.stderr


def test_entrypoint_leaves_shards_alone_outside_a_stateful_set(fake_python):
    result = _entrypoint(fake_python, "bot", HOSTNAME="3f2a9c1b7d4e", SHARD_COUNT="2", SHARD_IDS="0,1")
    assert result.stdout.strip() == "args=manage.py runbot SHARD_COUNT=2 SHARD_IDS=0,1"


@pytest.mark.parametrize(
    ("role", "expected"),
    [("worker", "args=manage.py qcluster"), ("migrate", "args=manage.py migrate --noinput"),
     ("manage", "args=manage.py apikey list --guild 1")],
)
def test_entrypoint_runs_each_role(fake_python, role, expected):
    extra = ["apikey", "list", "--guild", "1"] if role == "manage" else []
    result = _entrypoint(fake_python, role, *extra)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(expected)


def test_entrypoint_empties_the_metrics_directory_before_a_process_starts(fake_python, tmp_path):
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / "counter_1.db").write_bytes(b"stale")
    result = _entrypoint(fake_python, "worker", PROMETHEUS_MULTIPROC_DIR=str(metrics))
    assert result.returncode == 0, result.stderr
    assert list(metrics.iterdir()) == []


def test_image_runs_as_a_numeric_non_root_user_with_the_entrypoint():
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)[-1]
    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0"
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in dockerfile
    assert "exec daphne" in ENTRYPOINT.read_text() and "--proxy-headers summarybot" not in ENTRYPOINT.read_text()
    assert os.access(ENTRYPOINT, os.X_OK)

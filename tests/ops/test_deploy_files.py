"""deploy/ and config/production.example.toml parse and agree with the code: admin port, roles,
config paths, HUABEI_WATCH_* variable names, probes, and the configuration itself."""

from __future__ import annotations

import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from huabei_watch.config.loader import ENV_PREFIX
from huabei_watch.config.settings import AdminSettings
from huabei_watch.root.settings import ROLES, Settings, load_settings

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read the Compose and Kubernetes files")

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PRODUCTION = ROOT / "config" / "production.example.toml"
ADMIN_PORT = int(AdminSettings().listen.rpartition(":")[2])
CONFIG_PATH = "/etc/huabei-watch/config.toml"


# -- helpers -----------------------------------------------------------------------------------------
def _walk(tp: Any, parts: list[str]) -> bool:
    """Can ``parts`` be followed down the type ``tp`` (models, tuples by index, dicts by key)?"""
    if not parts:
        return True
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _walk(typing.get_args(tp)[0], parts)
    if origin in (typing.Union, types.UnionType):  # optional values, tagged unions of models
        return any(_walk(a, parts) for a in typing.get_args(tp) if a is not type(None))
    head, rest = parts[0], parts[1:]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        field = tp.model_fields.get(head)
        return field is not None and _walk(field.annotation, rest)
    if origin is tuple and head.isdigit():
        return _walk(typing.get_args(tp)[0], rest)
    if origin is dict:
        return _walk(typing.get_args(tp)[1], rest)
    return False


def env_key_exists(name: str) -> bool:
    """Does ``HUABEI_WATCH_A__B__0__C`` address a real key of :class:`Settings` (as apply_env reads it)?"""
    if not name.startswith(ENV_PREFIX):
        return False
    parts = [p.lower() for p in name[len(ENV_PREFIX):].split("__") if p]
    return bool(parts) and _walk(Settings, parts)


def yaml_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text("utf-8")) if d]


def k8s_objects() -> list[dict[str, Any]]:
    return [d for p in sorted((DEPLOY / "k8s").glob("*.yaml")) if p.name != "kustomization.yaml" for d in yaml_docs(p)]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [o for o in k8s_objects() if o["kind"] == kind]


def config_arg(args: list[str]) -> str:
    return args[args.index("--config") + 1]


def role_arg(args: list[str]) -> str:
    assert args[args.index("--config") + 2] == "run", args
    return args[args.index("--role") + 1]


def interpolate(value: str) -> str:
    """Compose's ``${VAR:-default}`` with the default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def secret_env() -> dict[str, str]:
    (secret,) = [s for s in of_kind("Secret") if s["metadata"]["name"] == "huabei-watch-env"]
    return dict(secret["stringData"])


# -- the env-name check itself ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "exists"),
    [
        ("HUABEI_WATCH_KAFKA__SASL_PASSWORD", True),
        ("HUABEI_WATCH_ADMIN__OPS_TOKEN", True),
        ("HUABEI_WATCH_DATABASE__URL", True),
        ("HUABEI_WATCH_MERCHANTS__0__TOKEN", True),
        ("HUABEI_WATCH_MERCHANTS__0__CONTACTS__PHONE", True),
        ("HUABEI_WATCH_NOTIFY__ALIYUN_SMS__ACCESS_KEY_SECRET", True),
        ("HUABEI_WATCH_SOURCES__0__INTERVAL", True),
        ("HUABEI_WATCH_PROBES__1__URL", True),
        ("HUABEI_WATCH_PROBES__1__NOPE", False),
        ("HUABEI_WATCH_OPS_TOKEN", False),
        ("HUABEI_WATCH_KAFKA__PASSWORD", False),
        ("HUABEI_WATCH_MERCHANTS__TOKEN", False),
        ("HUABEI_WATCH_ADMIN__OPS_TOKEN__X", False),
        ("KAFKA__SASL_PASSWORD", False),
    ],
)
def test_env_key_check_tells_real_key_paths_from_typos(name: str, exists: bool) -> None:
    assert env_key_exists(name) is exists


# -- config/production.example.toml ----------------------------------------------------------------
def test_production_example_validates_without_and_with_the_secret_env() -> None:
    plain = load_settings(PRODUCTION, environ={})
    assert plain.kafka.security_protocol == "SASL_SSL" and not plain.kafka.embedded
    assert plain.database_url().startswith("postgresql+asyncpg://")
    assert not plain.sandbox.enabled
    assert int(plain.admin.listen.rpartition(":")[2]) == ADMIN_PORT
    with_env = load_settings(PRODUCTION, environ=secret_env())
    assert with_env.admin.ops_token is not None and with_env.kafka.sasl_password is not None


def test_production_example_names_only_real_env_keys() -> None:
    names = set(re.findall(r"\bHUABEI_WATCH_[A-Z0-9_]+", PRODUCTION.read_text("utf-8")))
    assert names and {n for n in names if not env_key_exists(n)} == set()


# -- Dockerfile ----------------------------------------------------------------------------------------
def test_dockerfile_is_slim_non_root_and_checks_health_on_the_admin_port() -> None:
    text = (DEPLOY / "Dockerfile").read_text("utf-8")
    assert re.search(r"^FROM python:3\.11-slim\s*$", text, re.M)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert re.search(rf"^EXPOSE\s+{ADMIN_PORT}\s*$", text, re.M)
    health = re.search(r"^HEALTHCHECK .*?CMD (.*)$", text, re.M | re.S)
    assert health and f"http://127.0.0.1:{ADMIN_PORT}/healthz" in health.group(1) and "urllib" in health.group(1)
    assert re.search(r'^ENTRYPOINT \["huabei-watch"\]', text, re.M)
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert cmd and config_arg(yaml.safe_load(cmd.group(1))) == CONFIG_PATH
    assert re.search(rf"^COPY config/production\.example\.toml {re.escape(CONFIG_PATH)}$", text, re.M)
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text("utf-8").split()
    for src in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for path in src.split():
            assert f"!{path}" in ignore or f"!{path}/" in ignore, f"{path} is excluded from the build context"


# -- docker-compose.yml --------------------------------------------------------------------------------
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text("utf-8"))
    return data


def role_services() -> dict[str, dict[str, Any]]:
    return {role_arg(s["command"]): s for s in compose()["services"].values() if "--role" in s.get("command", [])}


def test_compose_runs_each_role_once_on_apache_kafka_kraft_and_postgres_16() -> None:
    services = compose()["services"]
    assert sorted(role_services()) == sorted(ROLES)
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["postgres"]["image"] == "postgres:16"
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"


def test_compose_mounts_the_config_it_passes_and_that_config_validates() -> None:
    for role, service in role_services().items():
        path = config_arg(service["command"])
        mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
        assert path in mounts, f"{role}: {path} is not mounted"
        env = {k: interpolate(str(v)) for k, v in service["environment"].items()}
        settings = load_settings(DEPLOY / mounts[path], environ=env)
        assert int(settings.admin.listen.rpartition(":")[2]) == ADMIN_PORT
        assert settings.database_url().startswith("postgresql+asyncpg://")
        assert settings.kafka.bootstrap_servers == "kafka:9092"
        health = " ".join(service["healthcheck"]["test"])
        assert f"127.0.0.1:{ADMIN_PORT}/readyz" in health
        for port in service.get("ports", []):
            assert str(port).endswith(f":{ADMIN_PORT}")


def test_compose_upgrades_the_database_before_any_role_starts() -> None:
    services = compose()["services"]
    (name,) = [n for n, s in services.items() if s.get("command", [])[-2:] == ["db", "upgrade"]]
    upgrade = services[name]
    assert config_arg(upgrade["command"]) == CONFIG_PATH and upgrade["restart"] == "no"
    for role, service in role_services().items():
        assert service["depends_on"][name] == {"condition": "service_completed_successfully"}, role
        assert service["environment"] == upgrade["environment"] and service["volumes"] == upgrade["volumes"], role


def test_compose_env_names_are_real_config_keys() -> None:
    names = {k for s in compose()["services"].values() for k in (s.get("environment") or {}) if k.startswith("HUABEI")}
    assert names and {n for n in names if not env_key_exists(n)} == set()


# -- Kubernetes ------------------------------------------------------------------------------------------
def deployments() -> dict[str, dict[str, Any]]:
    out = {}
    for d in of_kind("Deployment"):
        (container,) = d["spec"]["template"]["spec"]["containers"]
        out[role_arg(container["args"])] = d
    return out


def test_k8s_has_a_deployment_per_role_with_an_active_and_a_standby_incident_engine() -> None:
    deps = deployments()
    assert sorted(deps) == sorted(ROLES)
    # The lease keeps one active; a standby never turns ready, so a rolling update would stall.
    assert deps["incidents"]["spec"]["replicas"] == 2
    assert deps["incidents"]["spec"]["strategy"]["type"] == "Recreate"
    for role in set(ROLES) - {"incidents"}:
        assert deps[role]["spec"]["replicas"] == 2, role


def test_k8s_pods_upgrade_the_database_in_an_init_container_before_the_role() -> None:
    for role, d in deployments().items():
        spec = d["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        (init,) = spec["initContainers"]
        assert init["args"] == ["--config", config_arg(container["args"]), "db", "upgrade"], role
        assert init["image"] == container["image"] and init["envFrom"] == container["envFrom"], role
        config_mount = next(m for m in container["volumeMounts"] if m["mountPath"] == CONFIG_PATH)
        assert config_mount in init["volumeMounts"], role


def test_k8s_probes_hit_the_admin_port() -> None:
    for role, d in deployments().items():
        spec = d["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", role
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", role
        for probe in ("readinessProbe", "livenessProbe"):
            port = container[probe]["httpGet"]["port"]
            assert ports.get(port, port) == ADMIN_PORT, role
        assert spec["securityContext"]["runAsNonRoot"] is True


def test_k8s_mounts_the_configmap_at_the_config_path_and_env_from_the_secret() -> None:
    (cm,) = of_kind("ConfigMap")
    secrets = {s["metadata"]["name"] for s in of_kind("Secret")}
    for role, d in deployments().items():
        spec = d["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        mount = mounts[config_arg(container["args"])]
        assert volumes[mount["name"]]["configMap"]["name"] == cm["metadata"]["name"], role
        assert mount["subPath"] in cm["data"]
        for source in container["envFrom"]:
            assert source["secretRef"]["name"] in secrets
        for v in volumes.values():
            if "secret" in v:
                assert v["secret"]["secretName"] in secrets


def test_k8s_configmap_is_the_production_example_and_validates_with_the_secret(tmp_path: Path) -> None:
    (cm,) = of_kind("ConfigMap")
    text = cm["data"]["config.toml"]
    assert tomllib.loads(text) == tomllib.loads(PRODUCTION.read_text("utf-8")), (
        "deploy/k8s/configmap.yaml data.config.toml must be config/production.example.toml (indented by 4)"
    )
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    assert int(load_settings(path, environ=secret_env()).admin.listen.rpartition(":")[2]) == ADMIN_PORT


def test_k8s_secret_names_are_real_config_keys() -> None:
    names = set(secret_env())
    assert names and {n for n in names if not env_key_exists(n)} == set()


def test_k8s_pdbs_and_services_select_existing_deployments() -> None:
    labels = {role: d["spec"]["template"]["metadata"]["labels"] for role, d in deployments().items()}

    def selects(selector: dict[str, str]) -> set[str]:
        return {r for r, lab in labels.items() if selector.items() <= lab.items()}

    assert sorted(r for p in of_kind("PodDisruptionBudget") for r in selects(p["spec"]["selector"]["matchLabels"])) == [
        "cashier", "notify"]
    services = {r: s for s in of_kind("Service") for r in selects(s["spec"]["selector"])}
    assert sorted(services) == ["cashier", "watcher"]
    for s in services.values():
        assert s["spec"]["ports"][0]["targetPort"] == "admin"


def test_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text("utf-8"))["resources"]
    assert sorted(listed) == sorted(p.name for p in (DEPLOY / "k8s").glob("*.yaml") if p.name != "kustomization.yaml")


# -- systemd ---------------------------------------------------------------------------------------------
def unit() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / "huabei-watch.service").read_text("utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def test_systemd_unit_restarts_on_failure_and_is_sandboxed() -> None:
    u = unit()
    assert u["Restart"] == ["on-failure"]
    for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("PrivateTmp", "yes")):
        assert u[key] == [value], key
    assert u.get("DynamicUser") == ["yes"] or "User" in u
    state_dir = str(load_settings(PRODUCTION, environ={}).daemon.state_dir)
    assert state_dir in u["ReadWritePaths"]
    (start,) = u["ExecStart"]
    args = start.split()
    assert args[0].endswith("/huabei-watch") and config_arg(args) == CONFIG_PATH and args[args.index("--config") + 2] == "run"


def test_systemd_unit_upgrades_the_database_before_the_daemon_starts() -> None:
    pre = [line.split() for line in unit()["ExecStartPre"]]
    upgrade = [args for args in pre if args[-2:] == ["db", "upgrade"]]
    assert len(upgrade) == 1 and upgrade[0][0].endswith("/huabei-watch") and config_arg(upgrade[0]) == CONFIG_PATH

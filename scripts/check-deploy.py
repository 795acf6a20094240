#!/usr/bin/env python3
"""Checks deploy/: every YAML file parses, the compose file's images are pinned and its mounts exist, Prometheus
scrapes the ports the binaries listen on by default, and the dashboards use the provisioned data source.

The dashboards' queries are checked against the metrics the code exports by a Rust test
(e2e/tests/dashboard.rs), which reads the metric lists from the crates themselves.

Usage: scripts/check-deploy.py  (needs PyYAML; scripts/test.sh installs a pinned one)
"""

import json
import pathlib
import re
import sys

import yaml

root = pathlib.Path(__file__).resolve().parent.parent
deploy = root / "deploy"
errors = []


def fail(message):
    errors.append(message)


def load(path):
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as e:
        fail(f"{path.relative_to(root)}: not YAML: {e}")
        return None


# The Helm chart's templates are not YAML until rendered: scripts/check-chart.sh renders and validates them.
for path in sorted(deploy.rglob("*.yml")) + sorted(deploy.rglob("*.yaml")):
    if "helm" in path.relative_to(deploy).parts:
        continue
    if load(path) is None:
        fail(f"{path.relative_to(root)}: empty")

compose = load(deploy / "docker-compose.yml") or {}
services = compose.get("services", {})
for name in ("prometheus", "grafana"):
    if name not in services:
        fail(f"docker-compose.yml: no {name} service")
for name, service in services.items():
    image = service.get("image", "")
    if not re.fullmatch(r"[\w./-]+:v?\d+(\.\d+)+", image):
        fail(f"docker-compose.yml: {name}: image {image!r} is not pinned to a version")
    for volume in service.get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith("."):
            if not (deploy / source).exists():
                fail(f"docker-compose.yml: {name}: mounts {source}, which does not exist")
        elif source not in compose.get("volumes", {}):
            fail(f"docker-compose.yml: {name}: volume {source} is not declared")


def default_port(path, pattern):
    text = (root / path).read_text()
    found = re.search(pattern, text)
    if not found:
        fail(f"{path}: no default address matching {pattern}")
        return None
    return found.group(1)


prometheus = load(deploy / "prometheus" / "prometheus.yml") or {}
targets = {
    job["job_name"]: [t for c in job.get("static_configs", []) for t in c.get("targets", [])]
    for job in prometheus.get("scrape_configs", [])
}
expected = {
    "zkr-node": default_port("node/src/config.rs", r"addr: Some\(SocketAddr::from\(\(\[127, 0, 0, 1\], (\d+)\)\)\)"),
    "zkr-coordinator": default_port(
        "coordinator/src/config.rs", r"http: ListenSection \{ addr: SocketAddr::from\(\(\[127, 0, 0, 1\], (\d+)\)\) \}"
    ),
}
for job, port in expected.items():
    if port and f"127.0.0.1:{port}" not in targets.get(job, []):
        fail(f"prometheus.yml: job {job} does not scrape 127.0.0.1:{port}, the default address")
if not targets.get("zkr-prover"):
    fail("prometheus.yml: no zkr-prover targets")

sources = load(deploy / "grafana" / "provisioning" / "datasources" / "prometheus.yml") or {}
uids = {d.get("uid") for d in sources.get("datasources", [])}
for path in sorted((deploy / "grafana" / "dashboards").glob("*.json")):
    dashboard = json.loads(path.read_text())
    stack = list(dashboard.get("panels", []))
    while stack:
        panel = stack.pop()
        stack.extend(panel.get("panels", []))
        for item in [panel] + panel.get("targets", []):
            uid = (item.get("datasource") or {}).get("uid")
            if uid is not None and uid not in uids:
                fail(f"{path.name}: panel {panel.get('title')!r} uses data source {uid!r}, which is not provisioned")

if errors:
    print("\n".join(f"deploy: {e}" for e in errors), file=sys.stderr)
    sys.exit(1)
print(f"deploy: compose, Prometheus and Grafana provisioning check out ({len(targets)} scrape jobs)")

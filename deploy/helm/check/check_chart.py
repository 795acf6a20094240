#!/usr/bin/env python3
"""Checks the zkr Helm chart (deploy/helm/zkr) through its renderer (deploy/helm/render).

For each of the chart's CI values files (ci/*.yaml) it renders the chart as `helm template` would, then checks:

- every rendered object against the Kubernetes 1.31 OpenAPI schemas in strict mode (kubernetes-validate: an unknown
  field is an error), and the KEDA ScaledObjects and prometheus-operator ServiceMonitors against the models generated
  from those projects' CRDs (cloudcoil-models-keda, cloudcoil-models-prometheus-operator), with unknown fields
  refused at every level;
- the chart's promises: the GPU pool asks for nvidia.com/gpu and carries the values' placement; every container runs
  as uid 10001 without root, privilege escalation or capabilities on a read-only root file system; no probe runs a
  command (the image has no shell); each worker pool has a PodDisruptionBudget and, when it autoscales, a
  ScaledObject whose Prometheus trigger reads max(zkr_coordinator_queue_depth), with minReplicaCount 0 when it scales
  to zero and no replicas on its Deployment; the dashboard ConfigMap holds deploy/grafana/dashboards/zkr-cluster.json;
  the TOML files parse and use only the keys the binaries read, with the types they read; the files they name are
  mounted; no secret value reaches a ConfigMap; Services, monitors and budgets select what they should;
- that the merged values pass values.schema.json with Python's jsonschema too (draft-07), that values breaking the
  schema are refused, and that missing required values stop the render with a message naming them;
- that every key of values.yaml that the schema defines has a comment.

Usage: check_chart.py RENDERER CHART_DIR  (scripts/check-chart.sh installs the pinned packages and builds RENDERER)
"""

import copy
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import tomllib

import jsonschema
import kubernetes_validate
import pydantic
import typing
import yaml
from cloudcoil.models.keda.v1alpha1 import ScaledObject
from cloudcoil.models.prometheus_operator.v1 import ServiceMonitor

KUBE_VERSION = "1.31.0"
RELEASE, NAMESPACE = "ci", "provers"

renderer = pathlib.Path(sys.argv[1]).resolve()
chart = pathlib.Path(sys.argv[2]).resolve()
repo = chart.parent.parent.parent
dashboard_file = repo / "deploy" / "grafana" / "dashboards" / "zkr-cluster.json"

passed, failures = 0, []


def check(condition, message):
    """Counts one check; a failure is recorded with its message and the run goes on."""
    global passed
    if condition:
        passed += 1
    else:
        failures.append(message)
    return condition


# --- Rendering ------------------------------------------------------------------------------------------------------


class UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys, which the API server would silently merge."""


def _construct_mapping(loader, node, deep=False):
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in keys:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        keys.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def run_renderer(*args):
    return subprocess.run([str(renderer), RELEASE, str(chart), "-n", NAMESPACE, *args],
                          capture_output=True, text=True, check=False)


def render(name, *args):
    """Renders the chart; returns its objects, each with the template it came from under '__source'."""
    result = run_renderer(*args)
    if not check(result.returncode == 0, f"{name}: the render failed:\n{result.stderr}"):
        return []
    objects = []
    for document in result.stdout.split("\n---\n"):
        source = re.search(r"^# Source: (\S+)", document, re.M)
        try:
            obj = yaml.load(document, Loader=UniqueKeyLoader)
        except yaml.YAMLError as e:
            check(False, f"{name}: {source and source.group(1)}: {e}")
            continue
        if obj is None:
            continue
        obj["__source"] = source.group(1) if source else "?"
        objects.append(obj)
    return objects


def merged_values(*args):
    result = run_renderer("--show-values", *args)
    if not check(result.returncode == 0, f"--show-values {args}: {result.stderr}"):
        return {}
    return json.loads(result.stdout)


def strip(obj):
    return {k: v for k, v in obj.items() if k != "__source"}


def label(obj):
    return f"{obj['kind']}/{obj['metadata']['name']}"


def find(objects, kind, name=None):
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects, kind, name, case):
    found = find(objects, kind, name)
    check(len(found) == 1, f"{case}: expected one {kind}/{name}, found {len(found)}")
    return found[0] if found else None


# --- Schemas: Kubernetes and the CRDs -------------------------------------------------------------------------------


def unwrap(annotation):
    """The model classes an annotation can hold (Optional, Union, List, Dict, Annotated), as (kind, class) pairs."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        out = []
        for arg in typing.get_args(annotation):
            out += unwrap(arg)
        return out
    if origin in (list, typing.List):
        return [("list", c) for kind, c in unwrap(typing.get_args(annotation)[0]) if kind == "model"]
    if origin in (dict, typing.Dict):
        return [("dict", c) for kind, c in unwrap(typing.get_args(annotation)[1]) if kind == "model"]
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return [("model", annotation)]
    return []


def unknown_fields(model, data, path):
    """Fields of data that the model (generated from the CRD's OpenAPI schema) does not define, at every depth."""
    if not isinstance(data, dict):
        return []
    fields = {(f.alias or name): f for name, f in model.model_fields.items()}
    errors = []
    for key, value in data.items():
        if key not in fields:
            errors.append(f"{path}.{key}: unknown field")
            continue
        for kind, cls in unwrap(fields[key].annotation):
            if kind == "model":
                errors += unknown_fields(cls, value, f"{path}.{key}")
            elif kind == "list" and isinstance(value, list):
                for i, item in enumerate(value):
                    errors += unknown_fields(cls, item, f"{path}.{key}[{i}]")
            elif kind == "dict" and isinstance(value, dict):
                for k, item in value.items():
                    errors += unknown_fields(cls, item, f"{path}.{key}.{k}")
    return errors


CRD_MODELS = {("keda.sh/v1alpha1", "ScaledObject"): ScaledObject,
              ("monitoring.coreos.com/v1", "ServiceMonitor"): ServiceMonitor}

# The Prometheus scaler's metadata keys (KEDA's documentation); the CRD types trigger metadata as a string map only.
PROMETHEUS_TRIGGER_KEYS = {"serverAddress", "query", "queryParameters", "threshold", "activationThreshold",
                           "namespace", "customHeaders", "ignoreNullValues", "unsafeSsl", "timeout", "authModes"}


def validate_objects(case, objects):
    for obj in objects:
        data = strip(obj)
        model = CRD_MODELS.get((data["apiVersion"], data["kind"]))
        if model is not None:
            try:
                model.model_validate(data)
                ok, message = True, ""
            except pydantic.ValidationError as e:
                ok, message = False, str(e)
            check(ok, f"{case}: {label(obj)} breaks its CRD schema: {message}")
            extra = unknown_fields(model, data, label(obj))
            check(not extra, f"{case}: {'; '.join(extra)}")
            continue
        try:
            kubernetes_validate.validate(data, KUBE_VERSION, strict=True)
            check(True, "")
        except kubernetes_validate.ValidationError as e:
            check(False, f"{case}: {label(obj)} ({obj['__source']}): {e.message} at "
                         f"{'.'.join(str(p) for p in e.absolute_path) or 'the top'}")
        except kubernetes_validate.SchemaNotFoundError:
            check(False, f"{case}: {label(obj)}: no Kubernetes {KUBE_VERSION} schema for {data['apiVersion']}")


# --- The chart's promises -------------------------------------------------------------------------------------------


def pod_spec(obj):
    return obj["spec"]["template"]["spec"]


def containers(obj):
    spec = pod_spec(obj)
    return spec.get("initContainers", []) + spec["containers"]


def workloads(objects):
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


ALLOWED_TOML = {
    "coordinator.toml": {
        "deployment": str, "genesis": str, "db": str, "keys.dir": str, "auth.token_file": str, "grpc.addr": str,
        "http.addr": str, "tls.cert": str, "tls.key": str, "tls.client_ca": str, "l1.rpc_url": str,
        "l1.confirmations": int, "l1.poll_ms": int, "jobs.lease_ttl_ms": int, "jobs.max_attempts": int,
        "optimistic.challenge": bool, "optimistic.defend": bool, "optimistic.prove_every": int,
    },
    "prover.toml": {
        "name": str, "backend": str, "kinds": list, "coordinator.url": str, "auth.token_file": str, "tls.ca": str,
        "tls.cert": str, "tls.key": str, "tls.domain": str, "keys.dir": str, "keys.dev_srs": bool,
        "metrics.addr": str,
    },
    "node.toml": {
        "data_dir": str, "chain.chain_id": int, "chain.block_gas_limit": int, "chain.fee_recipient": str,
        "chain.genesis_alloc.*": str, "sequencer.block_time_ms": int, "rpc.addr": str, "metrics.addr": str,
        "l1.rpc_url": str, "l1.deployment": str, "batcher.max_batch_age_secs": int,
    },
}
# Tables the binaries read that may be empty (all their settings from defaults and the environment).
EMPTY_TABLES = {"node.toml": {"proposer"}}
EMPTY_TABLES_ANY = set().union(*EMPTY_TABLES.values())


def flatten(table, prefix=""):
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and not value and path in EMPTY_TABLES_ANY:
            continue
        if isinstance(value, dict) and path != "chain.genesis_alloc":
            yield from flatten(value, path + ".")
        elif path == "chain.genesis_alloc":
            for address, wei in value.items():
                yield f"{path}.*", wei, f"{path}.{address}"
        else:
            yield path, value, path


def check_toml(case, objects):
    """Parses every TOML file in the ConfigMaps; returns {(configmap, file): table}."""
    tables = {}
    for cm in find(objects, "ConfigMap"):
        for file, text in (cm.get("data") or {}).items():
            if not file.endswith(".toml"):
                continue
            try:
                table = tomllib.loads(text)
            except tomllib.TOMLDecodeError as e:
                check(False, f"{case}: {label(cm)} {file} is not TOML: {e}")
                continue
            check(True, "")
            allowed = ALLOWED_TOML.get(file)
            if not check(allowed is not None, f"{case}: {label(cm)}: unexpected TOML file {file}"):
                continue
            for pattern, value, path in flatten(table):
                if check(pattern in allowed, f"{case}: {label(cm)} {file}: key {path} is not one the binary reads"):
                    want = allowed[pattern]
                    check(isinstance(value, want) and not (want is int and isinstance(value, bool)),
                          f"{case}: {label(cm)} {file}: {path} = {value!r} is not a {want.__name__}")
            tables[(cm["metadata"]["name"], file)] = table
    return tables


def mounted_files(obj, container):
    """Files the container sees under /etc/zkr (from the projected volume) and the folders it mounts."""
    volumes = {v["name"]: v for v in pod_spec(obj).get("volumes", [])}
    for claim in obj["spec"].get("volumeClaimTemplates", []):
        volumes[claim["metadata"]["name"]] = {"persistentVolumeClaim": {}}
    files, folders = set(), []
    for mount in container.get("volumeMounts", []):
        check(mount["name"] in volumes, f"{label(obj)}: mount of undeclared volume {mount['name']}")
        volume = volumes.get(mount["name"], {})
        folders.append(mount["mountPath"])
        for source in volume.get("projected", {}).get("sources", []):
            for kind in ("configMap", "secret"):
                for item in source.get(kind, {}).get("items", []):
                    files.add(f"{mount['mountPath']}/{item['path']}")
    return files, folders


def check_paths(case, obj, container, table, file):
    files, folders = mounted_files(obj, container)
    check(f"/etc/zkr/{file}" in files, f"{case}: {label(obj)}: {file} is not mounted at /etc/zkr/{file}")
    for _, value, path in flatten(table):
        if not isinstance(value, str) or not value.startswith("/"):
            continue
        if value.startswith("/etc/zkr/"):
            check(value in files, f"{case}: {label(obj)}: {file} names {value} ({path}), which is not mounted")
        else:
            check(any(value == f or value.startswith(f.rstrip("/") + "/") for f in folders),
                  f"{case}: {label(obj)}: {file} names {value} ({path}) outside every mounted volume")


def check_common(case, objects, values):
    """The promises every render keeps, whatever the values."""
    # Names, labels, the one image.
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    check(len(names) == len(set(names)), f"{case}: duplicate objects: {sorted(n for n in names if names.count(n) > 1)}")
    for obj in objects:
        labels = obj["metadata"].get("labels", {})
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/managed-by",
                    "helm.sh/chart"):
            check(key in labels, f"{case}: {label(obj)} has no label {key}")
        if obj["kind"] != "ConfigMap" or obj["metadata"]["name"] != f"{RELEASE}-zkr-dashboard":
            check(obj["metadata"].get("namespace") == NAMESPACE, f"{case}: {label(obj)} is not in {NAMESPACE}")

    # Pod security and probes.
    for obj in workloads(objects):
        spec = pod_spec(obj)
        sc = spec.get("securityContext", {})
        check(sc.get("runAsNonRoot") is True and sc.get("runAsUser") == 10001 and sc.get("fsGroup") == 10001,
              f"{case}: {label(obj)}: the pod must run as non-root uid 10001 with fsGroup 10001")
        check(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
              f"{case}: {label(obj)}: seccomp RuntimeDefault")
        check(spec.get("enableServiceLinks") is False, f"{case}: {label(obj)}: service links must be off")
        check(spec.get("automountServiceAccountToken") is False, f"{case}: {label(obj)}: no API token mount")
        check(spec.get("serviceAccountName") == f"{RELEASE}-zkr", f"{case}: {label(obj)}: the chart's account")
        for c in containers(obj):
            csc = c.get("securityContext", {})
            where = f"{case}: {label(obj)} container {c['name']}"
            check(csc.get("runAsNonRoot") is True and csc.get("runAsUser", sc.get("runAsUser")) == 10001,
                  f"{where}: runs as root")
            check(csc.get("readOnlyRootFilesystem") is True, f"{where}: root file system is writable")
            check(csc.get("allowPrivilegeEscalation") is False, f"{where}: allows privilege escalation")
            check(csc.get("privileged") is not True, f"{where}: privileged")
            check(csc.get("capabilities", {}).get("drop") == ["ALL"] and not csc["capabilities"].get("add"),
                  f"{where}: must drop ALL capabilities")
            check(c["image"] == f"{values['image']['repository']}:{values['image']['tag'] or '0.1.0'}",
                  f"{where}: image {c['image']}")
            check(c["command"][0].startswith("/usr/local/bin/zkr-"), f"{where}: command {c['command']}")
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if probe in c:
                    check("exec" not in c[probe], f"{where}: {probe} runs a command, and the image has no shell")
            ports = {p["name"] for p in c.get("ports", [])}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                port = c.get(probe, {}).get("httpGet", {}).get("port")
                if isinstance(port, str):
                    check(port in ports, f"{where}: {probe} names port {port}, which the container lacks")
            for env in c.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    check_secret_ref(case, objects, values, f"{where} env {env['name']}", ref["name"], ref["key"])
        for volume in spec.get("volumes", []):
            for source in volume.get("projected", {}).get("sources", []):
                if "secret" in source:
                    for item in source["secret"]["items"]:
                        check_secret_ref(case, objects, values, f"{case}: {label(obj)} volume {volume['name']}",
                                         source["secret"]["name"], item["key"])
                if "configMap" in source:
                    cm = one(objects, "ConfigMap", source["configMap"]["name"], case)
                    for item in source["configMap"]["items"]:
                        check(cm is not None and item["key"] in cm.get("data", {}),
                              f"{case}: {label(obj)} mounts {source['configMap']['name']}/{item['key']}, "
                              f"which the chart does not render")

    # Services select pods and name their ports; monitors and budgets select something.
    pods = [(o, o["spec"]["template"]["metadata"]["labels"]) for o in workloads(objects)]
    for svc in find(objects, "Service"):
        matched = [o for o, labels in pods if selects(svc["spec"]["selector"], labels)]
        check(len(matched) == 1, f"{case}: {label(svc)} selects {len(matched)} workloads")
        for o in matched:
            ports = {p["name"] for c in o["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
            for port in svc["spec"]["ports"]:
                check(port["targetPort"] in ports, f"{case}: {label(svc)} targets port {port['targetPort']}")
    for pdb in find(objects, "PodDisruptionBudget"):
        matched = [o for o, labels in pods if selects(pdb["spec"]["selector"]["matchLabels"], labels)]
        check(len(matched) == 1, f"{case}: {label(pdb)} selects {len(matched)} workloads")
    for sm in find(objects, "ServiceMonitor"):
        services = [s for s in find(objects, "Service") if selects(sm["spec"]["selector"]["matchLabels"],
                                                                     s["metadata"]["labels"])]
        check(services, f"{case}: {label(sm)} selects no Service")
        for endpoint in sm["spec"]["endpoints"]:
            for s in services:
                check(endpoint["port"] in {p["name"] for p in s["spec"]["ports"]},
                      f"{case}: {label(sm)} scrapes port {endpoint['port']}, which {label(s)} lacks")

    # Secrets never reach a ConfigMap.
    secrets = [values["auth"]["token"], values["coordinator"]["l1"]["signerKey"],
               values["node"]["batcher"]["privateKey"], values["node"]["proposer"]["privateKey"],
               values["coordinator"]["database"]["postgres"]["url"]]
    for cm in find(objects, "ConfigMap"):
        text = json.dumps(cm.get("data", {}))
        for secret in filter(None, secrets):
            check(secret not in text, f"{case}: {label(cm)} holds a secret value")

    # The TOML files parse, use known keys, and name mounted files.
    tables = check_toml(case, objects)
    for obj in workloads(objects):
        for c in containers(obj):
            if "--config" in c["command"]:
                path = c["command"][c["command"].index("--config") + 1]
                file = path.rsplit("/", 1)[1]
                cm_name = obj["metadata"]["name"]
                table = tables.get((cm_name, file))
                if check(table is not None, f"{case}: {label(obj)}: no ConfigMap {cm_name} with {file}"):
                    check_paths(case, obj, c, table, file)

    # Worker pools.
    for name, pool in values["prover"]["pools"].items():
        deploy_name = f"{RELEASE}-zkr-prover-{name}"
        deployments = find(objects, "Deployment", deploy_name)
        if not pool["enabled"]:
            check(not deployments, f"{case}: disabled pool {name} is rendered")
            continue
        deployment = one(objects, "Deployment", deploy_name, case)
        if deployment is None:
            continue
        spec = pod_spec(deployment)
        container = spec["containers"][0]
        check(spec.get("terminationGracePeriodSeconds", 30) >= pool["terminationGracePeriodSeconds"] >= 60,
              f"{case}: pool {name}: the grace period must let a worker hand its lease back")
        check(container.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/metrics"
              and container["livenessProbe"]["httpGet"]["port"] == "metrics",
              f"{case}: pool {name}: liveness must be GET /metrics on the metrics port")
        check(any(p["containerPort"] == 9103 for p in container["ports"]), f"{case}: pool {name}: port 9103")
        keys = next(v for v in spec["volumes"] if v["name"] == "keys")
        if pool["keys"]["existingClaim"]:
            check(keys.get("persistentVolumeClaim", {}).get("claimName") == pool["keys"]["existingClaim"],
                  f"{case}: pool {name}: the keys claim")
        else:
            check(keys.get("emptyDir", {}).get("sizeLimit") == pool["keys"]["sizeLimit"],
                  f"{case}: pool {name}: the keys emptyDir needs its sizeLimit")
            check("ephemeral-storage" in container.get("resources", {}).get("requests", {}),
                  f"{case}: pool {name}: an emptyDir keys folder needs an ephemeral-storage request")
        toml = tables.get((deploy_name, "prover.toml"), {})
        check(toml.get("backend") == pool["backend"] and toml.get("kinds") == pool["kinds"],
              f"{case}: pool {name}: prover.toml backend/kinds")
        check("name" not in toml, f"{case}: pool {name}: workers must register under their pod's name")
        if pool["backend"] == "gpu":
            limits = container["resources"].get("limits", {})
            check(str(limits.get("nvidia.com/gpu")) == str(pool["resources"]["limits"]["nvidia.com/gpu"])
                  and int(limits.get("nvidia.com/gpu", 0)) >= 1,
                  f"{case}: pool {name}: must ask for nvidia.com/gpu")
            check(spec.get("nodeSelector", {}) == pool["nodeSelector"], f"{case}: pool {name}: nodeSelector")
            check(spec.get("tolerations", []) == pool["tolerations"], f"{case}: pool {name}: tolerations")
            check(any(t.get("key") == "nvidia.com/gpu" and t.get("effect") == "NoSchedule"
                      for t in spec.get("tolerations", [])), f"{case}: pool {name}: tolerates the GPU taint")
        pdbs = [p for p in find(objects, "PodDisruptionBudget")
                if selects(p["spec"]["selector"]["matchLabels"], deployment["spec"]["template"]["metadata"]["labels"])]
        check(len(pdbs) == 1, f"{case}: pool {name}: needs one PodDisruptionBudget, has {len(pdbs)}")
        scaled = [s for s in find(objects, "ScaledObject") if s["spec"]["scaleTargetRef"]["name"] == deploy_name]
        auto = pool["autoscaling"]
        if not auto["enabled"]:
            check(not scaled, f"{case}: pool {name}: a ScaledObject without autoscaling")
            check(deployment["spec"].get("replicas") == pool["replicas"], f"{case}: pool {name}: replicas")
            continue
        check("replicas" not in deployment["spec"], f"{case}: pool {name}: an autoscaled Deployment sets replicas")
        if not check(len(scaled) == 1, f"{case}: pool {name}: needs one ScaledObject, has {len(scaled)}"):
            continue
        so = scaled[0]["spec"]
        check(so["scaleTargetRef"].get("kind") == "Deployment", f"{case}: pool {name}: scale target kind")
        check(so["minReplicaCount"] == (0 if auto["scaleToZero"] else auto["minReplicas"]),
              f"{case}: pool {name}: minReplicaCount {so['minReplicaCount']}")
        check(so["maxReplicaCount"] == auto["maxReplicas"], f"{case}: pool {name}: maxReplicaCount")
        triggers = [t for t in so["triggers"] if t["type"] == "prometheus"]
        if check(len(triggers) == 1, f"{case}: pool {name}: needs one Prometheus trigger"):
            meta = triggers[0]["metadata"]
            check(set(meta) <= PROMETHEUS_TRIGGER_KEYS, f"{case}: pool {name}: unknown trigger keys "
                                                        f"{set(meta) - PROMETHEUS_TRIGGER_KEYS}")
            check(re.fullmatch(r"max\(zkr_coordinator_queue_depth(\{.*\})?\)", meta["query"]) is not None,
                  f"{case}: pool {name}: query {meta['query']!r} must take the max of zkr_coordinator_queue_depth")
            if values["prover"]["autoscaling"]["namespaceFilter"]:
                check(f'namespace="{NAMESPACE}"' in meta["query"], f"{case}: pool {name}: namespace filter")
            check(meta["serverAddress"] == values["prover"]["autoscaling"]["serverAddress"],
                  f"{case}: pool {name}: serverAddress")
            check(float(meta["threshold"]) == auto["jobsPerWorker"], f"{case}: pool {name}: threshold")
            check(float(meta["activationThreshold"]) == auto["activationQueueDepth"],
                  f"{case}: pool {name}: activationThreshold")
        behavior = so["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
        check(behavior["scaleDown"]["stabilizationWindowSeconds"] == auto["scaleDown"]["stabilizationWindowSeconds"]
              and behavior["scaleDown"]["stabilizationWindowSeconds"] > 0,
              f"{case}: pool {name}: scale-down needs a stabilization window")

    # The dashboard.
    dashboards = [c for c in find(objects, "ConfigMap") if c["metadata"]["name"] == f"{RELEASE}-zkr-dashboard"]
    if values["dashboard"]["enabled"]:
        if check(len(dashboards) == 1, f"{case}: no dashboard ConfigMap"):
            cm = dashboards[0]
            check(cm["metadata"]["labels"].get("grafana_dashboard") == "1", f"{case}: dashboard label")
            check(cm["metadata"]["namespace"] == (values["dashboard"]["namespace"] or NAMESPACE),
                  f"{case}: dashboard namespace")
            check(json.loads(cm["data"]["zkr-cluster.json"]) == json.loads(dashboard_file.read_text()),
                  f"{case}: the dashboard ConfigMap does not hold {dashboard_file.relative_to(repo)}")
    else:
        check(not dashboards, f"{case}: dashboard rendered while disabled")

    # ServiceMonitors exactly when asked for.
    monitors = find(objects, "ServiceMonitor")
    if values["serviceMonitor"]["enabled"]:
        check({m["metadata"]["name"] for m in monitors} ==
              {f"{RELEASE}-zkr-node", f"{RELEASE}-zkr-coordinator", f"{RELEASE}-zkr-prover"},
              f"{case}: ServiceMonitors for the node, the coordinator and the workers")
        for m in monitors:
            for key, value in values["serviceMonitor"]["labels"].items():
                check(m["metadata"]["labels"].get(key) == value, f"{case}: {label(m)} lacks label {key}")
    else:
        check(not monitors, f"{case}: ServiceMonitors rendered while disabled")


def check_secret_ref(case, objects, values, where, name, key):
    chart_secret = f"{RELEASE}-zkr"
    if name == chart_secret:
        secret = find(objects, "Secret", chart_secret)
        check(secret and key in secret[0].get("data", {}), f"{where}: the chart's Secret has no key {key}")
    else:
        existing = {values["auth"]["existingSecret"], values["coordinator"]["l1"]["existingSecret"],
                    values["node"]["batcher"]["existingSecret"], values["node"]["proposer"]["existingSecret"],
                    values["coordinator"]["database"]["postgres"]["existingSecret"], values["tls"]["existingSecret"],
                    values["tls"]["mtls"]["clientSecret"]}
        check(name in existing - {""}, f"{where}: Secret {name} is neither the chart's nor one the values name")


def coordinator_parts(case, objects):
    sts = one(objects, "StatefulSet", f"{RELEASE}-zkr-coordinator", case)
    if sts is None:
        return None, None, None
    spec = pod_spec(sts)
    main = next(c for c in spec["containers"] if c["name"] == "coordinator")
    return sts, spec, main


def check_coordinator(case, objects, values):
    sts, spec, main = coordinator_parts(case, objects)
    if sts is None:
        return
    c = values["coordinator"]
    check(sts["spec"]["replicas"] == c["replicas"], f"{case}: coordinator replicas")
    env = {e["name"]: e for e in main.get("env", [])}
    check("ZKR_COORDINATOR_L1__SIGNER_KEY" in env, f"{case}: the signer key must reach the coordinator as env")
    check(main["readinessProbe"].get("grpc" if not values["tls"]["enabled"] else "tcpSocket") is not None,
          f"{case}: readiness must be a gRPC probe (TCP with TLS)")
    if not values["tls"]["enabled"]:
        check(main["readinessProbe"]["grpc"]["port"] == 50051
              and main["readinessProbe"]["grpc"].get("service") == "zkr.prover.v1.ProverCoordinator",
              f"{case}: readiness probes the coordinator's gRPC health service on 50051")
    check(main["livenessProbe"].get("httpGet") == {"path": "/healthz", "port": "http"},
          f"{case}: liveness must be GET /healthz on the http port")
    startup = main.get("startupProbe", {})
    check(startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3) >= 600,
          f"{case}: the coordinator's startup probe must allow at least 10 minutes")
    init = {i["name"]: i for i in spec.get("initContainers", [])}
    if check("keys" in init, f"{case}: key generation init container"):
        cmd = init["keys"]["command"]
        check(cmd[:6] == ["/usr/local/bin/zkr-prove", "setup", "--keys.dir", "/var/lib/zkr/keys", "--deployment",
                          "/etc/zkr/l1.json"], f"{case}: key generation command {cmd}")
        check(("--keys.dev-srs" in cmd) == values["devSrs"], f"{case}: --keys.dev-srs only with devSrs")
    toml = tomllib.loads(one(objects, "ConfigMap", f"{RELEASE}-zkr-coordinator", case)["data"]["coordinator.toml"])
    optimistic = c["optimistic"]
    check(toml.get("optimistic") == {"challenge": optimistic["challenge"], "defend": optimistic["defend"],
                                     "prove_every": optimistic["proveEvery"]},
          f"{case}: [optimistic] renders the coordinator's dispute roles")
    tls = values["tls"]
    check(("tls" in toml) == tls["enabled"], f"{case}: [tls] exactly with TLS")
    check(("client_ca" in toml.get("tls", {})) == (tls["enabled"] and tls["mtls"]["enabled"]),
          f"{case}: client_ca exactly with mTLS")
    if c["database"]["type"] == "postgres":
        check("db" not in toml, f"{case}: with Postgres the store URL comes from the environment, not the file")
        ref = env.get("ZKR_COORDINATOR_DB", {}).get("valueFrom", {}).get("secretKeyRef", {})
        pg = c["database"]["postgres"]
        check(ref.get("name") == (pg["existingSecret"] or f"{RELEASE}-zkr")
              and ref.get("key") == (pg["existingSecretKey"] if pg["existingSecret"] else "coordinator-db-url"),
              f"{case}: ZKR_COORDINATOR_DB must come from the Postgres Secret")
        if c["replicas"] > 1:
            check(find(objects, "PodDisruptionBudget", f"{RELEASE}-zkr-coordinator"),
                  f"{case}: several coordinators need a PodDisruptionBudget")
    else:
        check(toml.get("db") == "/var/lib/zkr/coordinator.sqlite", f"{case}: SQLite store on the volume")
        check("ZKR_COORDINATOR_DB" not in env, f"{case}: no database URL with SQLite")
        check(sts["spec"]["replicas"] == 1, f"{case}: SQLite serves one coordinator")
        claims = [t["metadata"]["name"] for t in sts["spec"].get("volumeClaimTemplates", [])]
        check(claims == ["data"], f"{case}: SQLite needs the data volumeClaimTemplate")


def check_node(case, objects, values):
    sts = one(objects, "StatefulSet", f"{RELEASE}-zkr-node", case)
    if sts is None:
        return
    main = pod_spec(sts)["containers"][0]
    env = {e["name"] for e in main.get("env", [])}
    check(("ZKR_NODE_BATCHER__PRIVATE_KEY" in env) == values["node"]["batcher"]["enabled"],
          f"{case}: the batcher key reaches the node as env exactly with the batcher")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        check(main[probe].get("httpGet") == {"path": "/healthz", "port": "rpc"}, f"{case}: node {probe}")
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    check(ports == {"rpc": 8547, "metrics": 9101}, f"{case}: node ports {ports}")
    toml = tomllib.loads(one(objects, "ConfigMap", f"{RELEASE}-zkr-node", case)["data"]["node.toml"])
    chain = values["node"]["chain"]
    check(toml["chain"]["chain_id"] == chain["chainId"] and toml["chain"]["block_gas_limit"] == chain["blockGasLimit"],
          f"{case}: node.toml chain settings")
    check(toml["chain"].get("genesis_alloc", {}) == chain["genesisAlloc"], f"{case}: node.toml genesis_alloc")
    check(("batcher" in toml) == values["node"]["batcher"]["enabled"], f"{case}: [batcher] exactly with the batcher")
    proposer = values["node"]["proposer"]["enabled"]
    check(("ZKR_NODE_PROPOSER__PRIVATE_KEY" in env) == proposer,
          f"{case}: the proposer key reaches the node as env exactly with the proposer")
    check(("proposer" in toml) == proposer, f"{case}: [proposer] exactly with the proposer")
    if proposer:
        mode = json.loads(values["l1"]["deployment"]).get("mode", "zk")
        check(mode == "optimistic", f"{case}: the proposer runs against an optimistic deployment, not {mode}")


# --- Values: the schema, its refusals, the required values ----------------------------------------------------------


def check_values_comments():
    """Every key of values.yaml that the schema defines (not the contents of Kubernetes objects passed through) has a
    comment on the line above it."""
    schema = json.loads((chart / "values.schema.json").read_text())

    def resolve(node):
        while node and "$ref" in node:
            node = schema["definitions"][node["$ref"].rsplit("/", 1)[1]]
        return node or {}

    lines = (chart / "values.yaml").read_text().splitlines()
    stack = []  # (indent, schema node of the key's value)
    for i, line in enumerate(lines):
        match = re.match(r"^( *)([A-Za-z0-9_.\"/-]+):", line)
        if not match or line.lstrip().startswith("#"):
            continue
        indent, key = len(match.group(1)), match.group(2).strip('"')
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = resolve(stack[-1][1]) if stack else schema
        if stack and stack[-1][1] is None:
            stack.append((indent, None))
            continue
        defined = parent.get("additionalProperties") is False and key in parent.get("properties", {})
        node = resolve(parent.get("properties", {}).get(key)) if defined else None
        if defined:
            previous = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            check(previous.startswith("#"), f"values.yaml:{i + 1}: {key} has no comment")
        # Kubernetes' own fields (resources, probe timing) are described by their parent's comment.
        raw = parent.get("properties", {}).get(key, {}) if defined else {}
        passthrough = raw.get("$ref", "").endswith(("/resources", "/probeTiming"))
        strict = node and node.get("additionalProperties") is False and not passthrough
        stack.append((indent, node if strict else None))


def check_schema_and_required():
    schema = json.loads((chart / "values.schema.json").read_text())
    try:
        jsonschema.Draft7Validator.check_schema(schema)
        check(True, "")
    except jsonschema.SchemaError as e:
        check(False, f"values.schema.json is not a valid draft-07 schema: {e.message}")
    validator = jsonschema.Draft7Validator(schema)
    minimal = str(chart / "ci" / "values-minimal.yaml")

    # Both validators accept what the chart ships.
    for file in sorted((chart / "ci").glob("*.yaml")):
        values = merged_values("-f", str(file))
        errors = [e.message for e in validator.iter_errors(values)]
        check(not errors, f"{file.name}: Python's jsonschema refuses the merged values: {errors}")

    # Values that break the schema are refused, by the renderer (as by Helm) and by jsonschema.
    refused = [
        (["--set", "coordinator.replicas=2"], "replicas", "two coordinators on SQLite"),
        (["--set", "coordinator.replica=2"], "replica", "a misspelt key"),
        (["--set", "prover.pools.gpu.backend=cuda"], "backend", "an unknown backend"),
        (["--set", "prover.pools.cpu.kinds={chunk,batch}"], "kinds", "an unknown job kind"),
        (["--set", "node.chain.genesisAlloc.0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266=1000"], "genesisAlloc",
         "a wei amount as a number"),
        (["--set", "image.pullPolicy=Sometimes"], "pullPolicy", "an unknown pull policy"),
        (["--set", "prover.pools.gpu.autoscaling.minReplicas=0"], "minReplicas", "minReplicas 0 (scaleToZero is "
                                                                                 "the way to zero)"),
        (["--set", "coordinator.l1.signerKey=0x1234"], "signerKey", "a short signer key"),
    ]
    for args, word, what in refused:
        result = run_renderer("-f", minimal, *args)
        check(result.returncode != 0 and "values don't meet the specifications of the schema" in result.stderr
              and word in result.stderr, f"the schema must refuse {what} ({' '.join(args)}): {result.stderr!r}")

    # Missing required values stop the render and name the value to set.
    required = [
        ([], "l1.rpcUrl is required"),
        (["-f", minimal, "--set", "auth.token="], "auth.existingSecret (or auth.token) is required"),
        (["-f", minimal, "--set", "coordinator.l1.signerKey="], "coordinator.l1.existingSecret"),
        (["-f", minimal, "--set", "node.batcher.privateKey="], "node.batcher.existingSecret"),
        (["-f", minimal, "--set", "node.proposer.enabled=true"], "node.proposer.existingSecret"),
        (["-f", minimal, "--set", "node.proposer.enabled=true", "--set", "node.batcher.enabled=false"],
         "node.proposer needs node.batcher"),
        (["-f", minimal, "--set", "genesis="], "genesis is required"),
        (["-f", minimal, "--set", "tls.enabled=true"], "tls.existingSecret is required"),
        (["-f", minimal, "--set", "coordinator.database.type=postgres"], "coordinator.database.postgres"),
        (["-f", minimal, "--set", "coordinator.enabled=false"], "prover.coordinatorUrl is required"),
        (["-f", minimal, "--set", "node.chain.feeRecipient=0x1000000000000000000000000000000000000001"],
         "differs from node.chain.feeRecipient"),
        (["-f", minimal, "--set", "l1.deployment=not json"], "l1.deployment is not JSON"),
        (["-f", minimal, "--set", "devSrs=true"], "devSrs needs coordinator.keys.existingClaim"),
    ]
    without_srs = tempfile.NamedTemporaryFile("w", suffix=".yaml")
    minimal_values = yaml.safe_load(pathlib.Path(minimal).read_text())
    del minimal_values["srs"]
    yaml.safe_dump(minimal_values, without_srs)
    without_srs.flush()
    required.append((["-f", without_srs.name], "srs.volume and srs.files are required"))
    for args, message in required:
        result = run_renderer(*args)
        check(result.returncode != 0 and message in result.stderr and "execution error at (zkr/templates/" in
              result.stderr, f"{' '.join(args[2:]) or args and args[-1] or 'no values'}: the render must stop "
                             f"with {message!r}, got {result.stderr!r}")
    without_srs.close()

    # Without any schema violation, jsonschema agrees with the renderer on a refused value, checked directly.
    values = merged_values("-f", minimal)
    if values:
        broken = copy.deepcopy(values)
        broken["coordinator"]["replicas"] = 2
        check(any("replicas" in "/".join(map(str, e.absolute_path)) for e in validator.iter_errors(broken)),
              "Python's jsonschema must refuse two coordinators on SQLite too")


# --- Main -----------------------------------------------------------------------------------------------------------


def main():
    cases = sorted((chart / "ci").glob("*.yaml"))
    check(cases, f"no values files in {chart / 'ci'}")
    for file in cases:
        case = file.name
        values = merged_values("-f", str(file))
        objects = render(case, "-f", str(file))
        strict = run_renderer("--strict", "-f", str(file))
        check(strict.returncode == 0, f"{case}: a template reads a value values.yaml lacks: {strict.stderr}")
        if not objects or not values:
            continue
        validate_objects(case, objects)
        check_common(case, objects, values)
        if values["coordinator"]["enabled"]:
            check_coordinator(case, objects, values)
        if values["node"]["enabled"]:
            check_node(case, objects, values)
        kinds = sorted({o["kind"] for o in objects})
        print(f"{case}: {len(objects)} objects ({', '.join(kinds)})")

    # The values files the checks rely on exist and ask for what they should.
    gpu = merged_values("-f", str(chart / "ci" / "values-gpu.yaml"))
    if gpu:
        pool = gpu["prover"]["pools"]["gpu"]
        check(pool["enabled"] and pool["autoscaling"]["enabled"] and pool["autoscaling"]["scaleToZero"],
              "values-gpu.yaml must run the GPU pool autoscaled to zero")
    ha = merged_values("-f", str(chart / "ci" / "values-ha.yaml"))
    if ha:
        check(ha["coordinator"]["replicas"] >= 2 and ha["coordinator"]["database"]["type"] == "postgres"
              and ha["coordinator"]["database"]["postgres"]["existingSecret"],
              "values-ha.yaml must run several coordinators on Postgres from a Secret")
    optimistic = merged_values("-f", str(chart / "ci" / "values-optimistic.yaml"))
    if optimistic:
        check(optimistic["node"]["proposer"]["enabled"] and optimistic["node"]["proposer"]["existingSecret"]
              and json.loads(optimistic["l1"]["deployment"]).get("mode") == "optimistic",
              "values-optimistic.yaml must run the proposer, its key from a Secret, on an optimistic deployment")

    check_schema_and_required()
    check_values_comments()

    # --set parsing: typed values and lists reach the templates as Helm would give them.
    objects = render("--set", "-f", str(chart / "ci" / "values-minimal.yaml"), "--set",
                     "prover.pools.cpu.replicas=3,prover.pools.cpu.kinds={aggregation},node.chain.chainId=7")
    if objects:
        deployment = find(objects, "Deployment", f"{RELEASE}-zkr-prover-cpu")
        check(deployment and deployment[0]["spec"]["replicas"] == 3, "--set: replicas=3")
        prover = tomllib.loads(find(objects, "ConfigMap", f"{RELEASE}-zkr-prover-cpu")[0]["data"]["prover.toml"])
        check(prover["kinds"] == ["aggregation"], "--set: a list literal")
        node = tomllib.loads(find(objects, "ConfigMap", f"{RELEASE}-zkr-node")[0]["data"]["node.toml"])
        check(node["chain"]["chain_id"] == 7, "--set: an integer")

    # --set-file: a file's contents as a string value.
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        deployment = json.loads(merged_values("-f", str(chart / "ci" / "values-minimal.yaml"))["l1"]["deployment"])
        deployment["deploymentBlock"] = 424242
        f.write(json.dumps(deployment, indent=2))
        f.flush()
        objects = render("--set-file", "-f", str(chart / "ci" / "values-minimal.yaml"), "--set-file",
                         f"l1.deployment={f.name}")
        l1 = find(objects, "ConfigMap", f"{RELEASE}-zkr-l1")
        check(l1 and json.loads(l1[0]["data"]["l1.json"]) == deployment, "--set-file: l1.deployment from a file")

    for failure in failures:
        print(f"FAIL: {failure}")
    print(f"chart checks: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

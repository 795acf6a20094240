#!/usr/bin/env python3
"""Static checks of the Terraform example in deploy/terraform, for machines without Terraform or AWS access.

Parses every .tf file (and terraform.tfvars.example) with python-hcl2 and checks two kinds of things:

- hygiene: variables typed and described, variables and locals declared and used, outputs described, providers,
  modules and Helm charts pinned, module inputs and outputs that exist in the pinned module versions, no credentials
  or account IDs in any file, the example tfvars naming only real variables;
- what the example promises: a GPU node group on an NVIDIA AMI with the nvidia.com/gpu taint and labels and a
  minimum that may be 0, a GPU instance type validation that admits the g5/g6/g6e/p4d/p5 families and nothing else,
  the cluster autoscaler's scale-from-zero tags, the NVIDIA device plugin only where the AMI lacks it, KEDA,
  kube-prometheus-stack feeding KEDA, the zkr chart from ../helm/zkr with GPU workers that tolerate the taint, select
  the GPU nodes and take one GPU each, storage for the chart's StatefulSets, and a README whose cost and version
  tables match the code. When the chart exists, every value set here must be one of its values, and its
  values.schema.json must accept them merged over its values.yaml (with the variables' defaults, and flipped).

Usage:
  check_terraform.py [DIR]             check DIR (default: the directory above this file)
  check_terraform.py --self-test [DIR] break a copy of DIR in known ways and check that each break is caught

Needs python-hcl2 8.x, PyYAML and jsonschema (checks/requirements.txt; scripts/check-terraform.sh installs them).
"""

import copy
import json
import pathlib
import re
import shutil
import sys
import tempfile

import hcl2
import jsonschema
import yaml
from hcl2 import SerializationOptions

HERE = pathlib.Path(__file__).resolve().parent
OPTIONS = SerializationOptions(
    strip_string_quotes=True, with_comments=False, explicit_blocks=False, preserve_heredocs=False
)

# ------------------------------------------------------------------------------------------------------------------
# What the pinned modules accept, from their documentation at the pinned versions. An input or output missing here
# fails the check: look it up in the module's docs for that version, then add it.
# ------------------------------------------------------------------------------------------------------------------

EKS_INPUTS = set("""
create prefix_separator region tags name kubernetes_version enabled_log_types deletion_protection force_update_version
authentication_mode compute_config control_plane_scaling_config upgrade_policy remote_network_config
zonal_shift_config additional_security_group_ids control_plane_subnet_ids subnet_ids endpoint_private_access
endpoint_public_access endpoint_public_access_cidrs ip_family service_ipv4_cidr service_ipv6_cidr outpost_config
encryption_config attach_encryption_policy cluster_tags create_primary_security_group_tags timeouts access_entries
enable_cluster_creator_admin_permissions create_kms_key kms_key_description kms_key_deletion_window_in_days
enable_kms_key_rotation kms_key_rotation_period_in_days kms_key_enable_default_policy kms_key_owners
kms_key_administrators kms_key_users kms_key_service_users kms_key_source_policy_documents
kms_key_override_policy_documents kms_key_aliases create_cloudwatch_log_group cloudwatch_log_group_retention_in_days
cloudwatch_log_group_kms_key_id cloudwatch_log_group_class cloudwatch_log_group_tags create_security_group
security_group_id vpc_id security_group_name security_group_use_name_prefix security_group_description
security_group_additional_rules security_group_tags create_cni_ipv6_iam_policy create_node_security_group
node_security_group_id node_security_group_name node_security_group_use_name_prefix node_security_group_description
node_security_group_additional_rules node_security_group_enable_recommended_rules node_security_group_tags
enable_irsa openid_connect_audiences include_oidc_root_ca_thumbprint custom_oidc_thumbprints create_iam_role
iam_role_arn iam_role_name iam_role_use_name_prefix iam_role_path iam_role_description iam_role_permissions_boundary
iam_role_additional_policies iam_role_tags encryption_policy_use_name_prefix encryption_policy_name
encryption_policy_description encryption_policy_path encryption_policy_tags dataplane_wait_duration
enable_auto_mode_custom_tags create_auto_mode_iam_resources addons addons_timeouts identity_providers
create_node_iam_role node_iam_role_name node_iam_role_use_name_prefix node_iam_role_path node_iam_role_description
node_iam_role_permissions_boundary node_iam_role_additional_policies node_iam_role_tags fargate_profiles
self_managed_node_groups eks_managed_node_groups
""".split())

EKS_NODE_GROUP_KEYS = set("""
create kubernetes_version name use_name_prefix subnet_ids min_size max_size desired_size ami_id ami_type
ami_release_version use_latest_ami_release_version capacity_type disk_size force_update_version instance_types labels
node_repair_config remote_access taints update_config timeouts enable_bootstrap_user_data pre_bootstrap_user_data
post_bootstrap_user_data bootstrap_extra_args user_data_template_path cloudinit_pre_nodeadm cloudinit_post_nodeadm
create_launch_template use_custom_launch_template launch_template_id launch_template_name
launch_template_use_name_prefix launch_template_version launch_template_default_version
update_launch_template_default_version launch_template_description launch_template_tags tag_specifications
ebs_optimized key_name disable_api_termination kernel_id ram_disk_id block_device_mappings
capacity_reservation_specification cpu_options credit_specification enclave_options instance_market_options
license_specifications metadata_options enable_monitoring enable_efa_support enable_efa_only efa_indices
create_placement_group placement network_interfaces maintenance_options private_dns_name_options create_iam_role
iam_role_arn iam_role_name iam_role_use_name_prefix iam_role_path iam_role_description iam_role_permissions_boundary
iam_role_tags iam_role_attach_cni_policy iam_role_additional_policies create_iam_role_policy
iam_role_policy_statements vpc_security_group_ids attach_cluster_primary_security_group
cluster_primary_security_group_id create_security_group security_group_name security_group_use_name_prefix
security_group_description security_group_ingress_rules security_group_egress_rules security_group_tags tags
""".split())

EKS_OUTPUTS = set("""
cluster_arn cluster_certificate_authority_data cluster_endpoint cluster_id cluster_name cluster_oidc_issuer_url
cluster_dualstack_oidc_issuer_url cluster_version cluster_platform_version cluster_status
cluster_primary_security_group_id cluster_service_cidr cluster_ip_family cluster_control_plane_scaling_tier
access_entries access_policy_associations kms_key_arn kms_key_id kms_key_policy cluster_security_group_arn
cluster_security_group_id node_security_group_arn node_security_group_id oidc_provider oidc_provider_arn
cluster_tls_certificate_sha1_fingerprint cluster_iam_role_name cluster_iam_role_arn cluster_iam_role_unique_id
node_iam_role_name node_iam_role_arn node_iam_role_unique_id cluster_addons cluster_identity_providers
cloudwatch_log_group_name cloudwatch_log_group_arn fargate_profiles eks_managed_node_groups
eks_managed_node_groups_autoscaling_group_names self_managed_node_groups
self_managed_node_groups_autoscaling_group_names
""".split())

# 20.x names that 21.0 renamed: the commonest mistake when following an older guide.
EKS_RENAMED_IN_21 = {
    "cluster_name": "name",
    "cluster_version": "kubernetes_version",
    "cluster_enabled_log_types": "enabled_log_types",
    "cluster_endpoint_private_access": "endpoint_private_access",
    "cluster_endpoint_public_access": "endpoint_public_access",
    "cluster_endpoint_public_access_cidrs": "endpoint_public_access_cidrs",
    "cluster_addons": "addons",
    "cluster_ip_family": "ip_family",
    "cluster_encryption_config": "encryption_config",
    "cluster_security_group_additional_rules": "security_group_additional_rules",
    "cluster_identity_providers": "identity_providers",
    "eks_managed_node_group_defaults": "(removed: set each group's attributes)",
}

MODULES = {
    "terraform-aws-modules/eks/aws": {
        "major": 21,
        "inputs": EKS_INPUTS,
        "outputs": EKS_OUTPUTS,
    },
    "terraform-aws-modules/vpc/aws": {
        "major": 6,
        "inputs": set("""
            name cidr azs private_subnets public_subnets intra_subnets database_subnets enable_nat_gateway
            single_nat_gateway one_nat_gateway_per_az enable_dns_hostnames enable_dns_support enable_ipv6
            map_public_ip_on_launch enable_vpn_gateway enable_flow_log create_database_subnet_group
            public_subnet_names private_subnet_names public_subnet_tags private_subnet_tags nat_gateway_tags
            manage_default_security_group tags
        """.split()),
        "outputs": set("""
            vpc_id vpc_cidr_block private_subnets public_subnets intra_subnets private_subnets_cidr_blocks
            public_subnets_cidr_blocks nat_public_ips natgw_ids azs private_route_table_ids
        """.split()),
    },
    "terraform-aws-modules/eks-pod-identity/aws": {
        "major": 2,
        "inputs": set("""
            name use_name_prefix description attach_cluster_autoscaler_policy cluster_autoscaler_cluster_names
            attach_aws_ebs_csi_policy aws_ebs_csi_kms_arns associations tags
        """.split()),
        "outputs": set("""
            iam_role_arn iam_role_name iam_role_path iam_role_unique_id iam_policy_arn iam_policy_name
            iam_policy_id associations
        """.split()),
    },
}
META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}

# The GPU families the example documents, and types its validation must turn away.
GPU_TYPES_ACCEPTED = [
    "g5.xlarge", "g5.2xlarge", "g6.xlarge", "g6.12xlarge", "g6e.xlarge", "g6e.48xlarge", "p4d.24xlarge",
    "p5.4xlarge", "p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge",
]
GPU_TYPES_REJECTED = [
    "m7i.xlarge", "g4dn.xlarge", "p3.2xlarge", "trn1.32xlarge", "g5", "G5.XLARGE", "p5.48xlarge ", "xg5.xlarge",
]
NVIDIA_AMI_TYPES = {"AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA", "AL2023_ARM_64_NVIDIA",
                    "BOTTLEROCKET_ARM_64_NVIDIA"}
COST_TABLE_TYPES = ["g5.xlarge", "g6.xlarge", "g6e.xlarge", "p4d.24xlarge", "p5.48xlarge"]

# The zkr chart's values this example must set (deploy/helm/zkr/values.yaml names them).
ZKR_VALUE_PATHS = [
    "image.repository", "image.tag", "serviceMonitor.enabled", "prover.autoscaling.serverAddress",
    "prover.pools.gpu.enabled", "prover.pools.gpu.nodeSelector", "prover.pools.gpu.tolerations",
    "prover.pools.gpu.resources", "prover.pools.gpu.autoscaling.enabled", "prover.pools.gpu.autoscaling.scaleToZero",
    "prover.pools.gpu.autoscaling.minReplicas", "prover.pools.gpu.autoscaling.maxReplicas",
    "prover.pools.gpu.autoscaling.jobsPerWorker", "prover.pools.cpu.enabled",
    "prover.pools.cpu.autoscaling.enabled", "prover.pools.cpu.autoscaling.maxReplicas",
]
# Values whose contents are Kubernetes objects, not chart settings: the chart's values.yaml need only have the key.
FREE_FORM_VALUES = {"nodeSelector", "tolerations", "resources"}

SECRET_PATTERNS = [
    (re.compile(r"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"), "an AWS access key ID"),
    (re.compile(r"(?<![\w.])\d{12}(?![\w.])"), "a 12-digit number (an AWS account ID?)"),
    (re.compile(r"arn:aws[\w-]*:[\w-]*:[\w-]*:\d{12}:"), "an ARN with an account ID"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"(?i)\b(aws_secret_access_key|secret_key|secret_access_key|access_key|password|passwd|api_key|"
                r"token)\b\s*[=:]\s*\"[^\"$\s]{6,}\""), "a credential assigned a literal value"),
    (re.compile(r"(?i)https?://[^\s/:@\"]+:[^\s/@\"]+@"), "a URL with a user and password"),
]


# ------------------------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------------------------

class Config:
    """The blocks of one Terraform directory, merged across its files."""

    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.parse_errors = []
        self.files = {}
        self.variables, self.outputs, self.locals, self.modules = {}, {}, {}, {}
        self.resources, self.data, self.providers, self.checks = {}, {}, {}, {}
        self.terraform = []
        for path in sorted(self.root.glob("*.tf")):
            try:
                parsed = hcl2.loads(path.read_text(), serialization_options=OPTIONS)
            except Exception as e:  # python-hcl2 raises lark errors of several kinds
                self.parse_errors.append(f"{path.name}: does not parse: {str(e).splitlines()[0]}")
                continue
            self.files[path.name] = parsed
            for block in parsed.get("variable", []):
                self.variables.update(block)
            for block in parsed.get("output", []):
                self.outputs.update(block)
            for block in parsed.get("locals", []):
                self.locals.update(block)
            for block in parsed.get("module", []):
                self.modules.update(block)
            for block in parsed.get("check", []):
                self.checks.update(block)
            for block in parsed.get("provider", []):
                for name, body in block.items():
                    self.providers.setdefault(name, []).append(body)
            for kind, target in (("resource", self.resources), ("data", self.data)):
                for block in parsed.get(kind, []):
                    for rtype, named in block.items():
                        for name, body in named.items():
                            target[(rtype, name)] = body
            self.terraform.extend(parsed.get("terraform", []))
        self.expressions = json.dumps(self.files)
        # Everything but the variable blocks: a variable tested only by its own validation is not used.
        self.uses = json.dumps({f: {k: v for k, v in p.items() if k != "variable"} for f, p in self.files.items()})

    def resolve(self, value, depth=0):
        """Follows `${local.x}`, `${local.x.y}` and `${local.x["y"]}` to the literal they name."""
        if depth > 10 or not isinstance(value, str):
            return value
        m = re.fullmatch(r'\$\{local\.(\w+)((?:\.\w+|\["[^"]+"\])*)\}', value)
        if not m or m.group(1) not in self.locals:
            return value
        target = self.resolve(self.locals[m.group(1)], depth + 1)
        for key in re.findall(r'\.(\w+)|\["([^"]+)"\]', m.group(2)):
            key = key[0] or key[1]
            if not isinstance(target, dict) or key not in target:
                return value
            target = self.resolve(target[key], depth + 1)
        # A local that is itself an expression stays a reference: only literals are followed.
        return value if isinstance(target, str) and "${" in target else target

    def deep_resolve(self, value):
        value = self.resolve(value)
        if isinstance(value, dict):
            return {k: self.deep_resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.deep_resolve(v) for v in value]
        return value


def yamlencode_object(expression):
    """The object literal inside `${yamlencode({...})}`, parsed; None for anything else."""
    m = re.fullmatch(r"\$\{yamlencode\((\{.*\})\)\}", expression or "", re.S)
    if not m:
        return None
    return hcl2.loads("value = " + m.group(1), serialization_options=OPTIONS)["value"]


def hcl_unescape(text):
    return re.sub(r'\\(["\\nt])', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def conditions(variable):
    return [v.get("condition", "") for v in variable.get("validation", [])]


def first(blocks):
    return blocks[0] if isinstance(blocks, list) and blocks else (blocks if isinstance(blocks, dict) else {})


def dig(tree, path):
    for key in path.split("."):
        if not isinstance(tree, dict) or key not in tree:
            return None, False
        tree = tree[key]
    return tree, True


# ------------------------------------------------------------------------------------------------------------------
# Checks: each takes the Config and returns a list of problems (empty when it passes).
# ------------------------------------------------------------------------------------------------------------------

CHECKS = []


def check(function):
    CHECKS.append(function)
    return function


@check
def files_parse(tf):
    problems = list(tf.parse_errors)
    for name in ("versions.tf", "providers.tf", "main.tf", "variables.tf", "outputs.tf"):
        if not (tf.root / name).exists():
            problems.append(f"{name} is missing")
    return problems


@check
def variables_typed_described_and_used(tf):
    problems = []
    used = set(re.findall(r"\bvar\.(\w+)", tf.uses))
    for name, body in tf.variables.items():
        if "type" not in body:
            problems.append(f"variable {name} has no type")
        description = body.get("description", "")
        if not isinstance(description, str) or len(description.strip()) < 10:
            problems.append(f"variable {name} has no description")
        if name not in used:
            problems.append(f"variable {name} is declared but not used")
        for validation in body.get("validation", []):
            if f"var.{name}" not in validation.get("condition", ""):
                problems.append(f"variable {name}: a validation condition does not test var.{name}")
            if not validation.get("error_message"):
                problems.append(f"variable {name}: a validation has no error_message")
    for name in sorted(used - set(tf.variables)):
        problems.append(f"var.{name} is used but not declared")
    return problems


@check
def locals_defined_and_used(tf):
    used = set(re.findall(r"\blocal\.(\w+)", tf.expressions))
    problems = [f"local.{name} is used but not defined" for name in sorted(used - set(tf.locals))]
    problems += [f"local {name} is defined but not used" for name in sorted(set(tf.locals) - used)]
    return problems


@check
def outputs_described(tf):
    return [f"output {name} has no description" for name, body in tf.outputs.items() if not body.get("description")]


@check
def providers_pinned(tf):
    problems = []
    required = {}
    version_constraint = None
    for block in tf.terraform:
        version_constraint = block.get("required_version", version_constraint)
        for providers in block.get("required_providers", []):
            required.update(providers)
    if not version_constraint or not re.search(r">=?\s*1\.\d+", version_constraint):
        problems.append("terraform.required_version does not set a minimum Terraform version")
    for name, spec in required.items():
        if not isinstance(spec, dict) or not spec.get("source"):
            problems.append(f"provider {name} has no source")
            continue
        constraint = spec.get("version", "")
        bounded = re.fullmatch(r"~>\s*\d+\.\d+(\.\d+)?", constraint) or re.fullmatch(r"=?\s*\d+\.\d+\.\d+", constraint) \
            or ("<" in constraint and ">" in constraint)
        if not bounded:
            problems.append(f"provider {name} version {constraint!r} has no upper bound (use ~> X.Y or an exact version)")
    used = {rtype.split("_")[0] for rtype, _ in list(tf.resources) + list(tf.data)} | set(tf.providers)
    for name in sorted(used - set(required)):
        problems.append(f"provider {name} is used but not in required_providers")
    for body in tf.providers.get("aws", []):
        for key in ("access_key", "secret_key", "token", "profile", "shared_credentials_files"):
            if key in body:
                problems.append(f"provider aws sets {key}: credentials come from the environment, not the code")
    return problems


@check
def modules_pinned_and_inputs_exist(tf):
    problems = []
    for name, body in tf.modules.items():
        source, version = body.get("source", ""), body.get("version", "")
        if source.startswith(("./", "../")):
            continue
        if source not in MODULES:
            problems.append(f"module {name}: source {source!r} is not one this check knows (add its inputs here)")
            continue
        if not re.fullmatch(r"\d+\.\d+\.\d+", version):
            problems.append(f"module {name}: version {version!r} is not an exact version")
            continue
        known = MODULES[source]
        if int(version.split(".")[0]) != known["major"]:
            problems.append(f"module {name}: version {version} is not the {known['major']}.x this check knows")
        for key in sorted(set(body) - META_ARGUMENTS):
            if source == "terraform-aws-modules/eks/aws" and key in EKS_RENAMED_IN_21:
                problems.append(f"module {name}: {key} is a 20.x input; 21.x calls it {EKS_RENAMED_IN_21[key]}")
            elif key not in known["inputs"]:
                problems.append(f"module {name}: {key} is not an input of {source} {known['major']}.x")
        for group, attributes in (body.get("eks_managed_node_groups") or {}).items():
            for key in sorted(set(attributes) - EKS_NODE_GROUP_KEYS):
                problems.append(f"module {name}: node group {group}: {key} is not a node group attribute in 21.x")
        for output in sorted(set(re.findall(rf"\bmodule\.{name}(?:\[\d+\])?\.(\w+)", tf.expressions))):
            if output not in known["outputs"]:
                problems.append(f"module.{name}.{output} is not an output of {source} {known['major']}.x")
    return problems


@check
def helm_charts_pinned(tf):
    problems = []
    for (rtype, name), body in tf.resources.items():
        if rtype != "helm_release":
            continue
        repository, chart, version = body.get("repository"), body.get("chart", ""), body.get("version")
        if repository:
            if not repository.startswith("https://"):
                problems.append(f"helm_release.{name}: repository {repository!r} is not an https URL")
            if not (isinstance(version, str) and re.fullmatch(r"\d+\.\d+\.\d+", version)):
                problems.append(f"helm_release.{name}: chart {chart} is not pinned to an exact version")
        elif chart != "${local.zkr_chart}":
            problems.append(f"helm_release.{name}: a chart without a repository must be the local zkr chart")
    return problems


@check
def no_credentials_or_account_ids(tf):
    problems = []
    for path in sorted(p for p in tf.root.rglob("*") if p.is_file() and ".terraform" not in p.parts):
        if path.suffix in {".pyc"} or "__pycache__" in path.parts:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if "not-a-secret" in line:  # a documented fake, e.g. a value a validation must reject
                continue
            for pattern, what in SECRET_PATTERNS:
                if pattern.search(line):
                    problems.append(f"{path.relative_to(tf.root)}:{number}: {what}")
    return problems


@check
def example_tfvars_match_the_variables(tf):
    path = tf.root / "terraform.tfvars.example"
    if not path.exists():
        return ["terraform.tfvars.example is missing"]
    text = path.read_text()
    try:
        values = hcl2.loads(text, serialization_options=OPTIONS)
    except Exception as e:
        return [f"terraform.tfvars.example does not parse: {str(e).splitlines()[0]}"]
    problems = []
    mentioned = set(values) | set(re.findall(r"^#\s*(\w+)\s*=", text, re.M))
    for name in sorted(mentioned - set(tf.variables)):
        problems.append(f"terraform.tfvars.example sets {name}, which is not a variable")
    for name in sorted(set(tf.variables) - mentioned):
        problems.append(f"terraform.tfvars.example does not mention variable {name}")
    for name, body in tf.variables.items():
        if "default" not in body and name not in values:
            problems.append(f"terraform.tfvars.example does not set {name}, which has no default")
    if values.get("image_tag") == "latest":
        problems.append("terraform.tfvars.example uses the latest tag")
    return problems


@check
def gpu_instance_type_validation(tf):
    variable = tf.variables.get("gpu_instance_type")
    if not variable:
        return ["variable gpu_instance_type is missing"]
    patterns = [hcl_unescape(p) for c in conditions(variable)
                for p in re.findall(r'regex\("((?:[^"\\]|\\.)*)",\s*var\.gpu_instance_type\)', c)]
    if len(patterns) != 1:
        return ["gpu_instance_type needs exactly one regex() validation"]
    pattern = re.compile(patterns[0])
    problems = [f"gpu_instance_type's validation turns away {t}" for t in GPU_TYPES_ACCEPTED if not pattern.search(t)]
    problems += [f"gpu_instance_type's validation admits {t!r}" for t in GPU_TYPES_REJECTED if pattern.search(t)]
    default = variable.get("default", "")
    if not pattern.search(default):
        problems.append(f"gpu_instance_type's default {default!r} fails its own validation")
    if not default.startswith("p5"):
        problems.append(f"gpu_instance_type's default {default!r} cannot run the sm_90 kernels")
    if "gpu_kernels_need_hopper" not in tf.checks:
        problems.append("the check block warning about non-Hopper GPU types is missing")
    return problems


@check
def gpu_node_group(tf):
    eks = tf.modules.get("eks", {})
    groups = eks.get("eks_managed_node_groups") or {}
    gpu = groups.get("gpu")
    if not gpu:
        return ["module eks has no gpu node group"]
    problems = []
    if gpu.get("ami_type") != "${var.gpu_ami_type}":
        problems.append("the gpu group's ami_type is not var.gpu_ami_type")
    ami = tf.variables.get("gpu_ami_type", {})
    allowed = set(re.findall(r'"(\w+)"', " ".join(conditions(ami))))
    if ami.get("default") not in NVIDIA_AMI_TYPES or not allowed or not allowed <= NVIDIA_AMI_TYPES:
        problems.append(f"gpu_ami_type must default to and allow only EKS NVIDIA AMI types (allows {sorted(allowed)})")
    if gpu.get("instance_types") != ["${var.gpu_instance_type}"]:
        problems.append("the gpu group's instance_types is not [var.gpu_instance_type]")
    for size in ("min_size", "max_size", "desired_size"):
        if gpu.get(size) != f"${{var.gpu_{size}}}":
            problems.append(f"the gpu group's {size} is not var.gpu_{size}")
    minimum = tf.variables.get("gpu_min_size", {})
    if minimum.get("default") != 0 or not any(re.search(r"var\.gpu_min_size >= 0\b", c) for c in conditions(minimum)):
        problems.append("gpu_min_size must default to 0 and accept 0 (scale to zero)")
    taints = [tf.resolve(t) for t in (tf.resolve(gpu.get("taints")) or {}).values()]
    if not any(t.get("key") == "nvidia.com/gpu" and t.get("effect") == "NO_SCHEDULE" for t in taints if isinstance(t, dict)):
        problems.append("the gpu group has no nvidia.com/gpu NO_SCHEDULE taint")
    labels = tf.deep_resolve(gpu.get("labels"))
    if not isinstance(labels, dict) or labels.get("nvidia.com/gpu") != "true":
        problems.append("the gpu group is not labelled nvidia.com/gpu=true")
    elif labels.get("nvidia.com/gpu.present") != "true":
        problems.append("the gpu group lacks nvidia.com/gpu.present=true, which the device plugin chart's affinity needs")
    system = groups.get("system")
    if not system:
        problems.append("module eks has no system node group")
    elif system.get("taints") or "NVIDIA" in str(system.get("ami_type")):
        problems.append("the system group must be an untainted group on a standard AMI")
    return problems


@check
def autoscaler_can_scale_gpu_nodes_from_zero(tf):
    problems = []
    tags = tf.resources.get(("aws_autoscaling_group_tag", "gpu_node_template"))
    if not tags or tags.get("for_each") != "${local.gpu_autoscaler_tags}":
        problems.append("aws_autoscaling_group_tag.gpu_node_template must tag the GPU group from local.gpu_autoscaler_tags")
    elif 'eks_managed_node_groups["gpu"]' not in tags.get("autoscaling_group_name", ""):
        problems.append("aws_autoscaling_group_tag.gpu_node_template does not tag the gpu group's Auto Scaling group")
    expression = tf.locals.get("gpu_autoscaler_tags", "")
    for needle, what in (
        ('node-template/label/${key}" => value', "a label tag for each GPU label"),
        ("for key, value in local.gpu_node_labels", "a label tag for each GPU label"),
        ("node-template/taint/${local.gpu_taint.key}", "the taint tag"),
        ("${local.gpu_taint.value}:NoSchedule", "the taint tag's value"),
        ("node-template/resources/nvidia.com/gpu", "the GPU count tag"),
    ):
        if needle not in expression:
            problems.append(f"local.gpu_autoscaler_tags lacks {what}")
    autoscaler = tf.resources.get(("helm_release", "cluster_autoscaler"))
    values = yamlencode_object((autoscaler or {}).get("values", [""])[0]) if autoscaler else None
    if not autoscaler or not values or values.get("autoDiscovery", {}).get("clusterName") != "${module.eks.cluster_name}":
        problems.append("helm_release.cluster_autoscaler must auto-discover the cluster's node groups")
    identity = tf.modules.get("cluster_autoscaler_pod_identity", {})
    if identity.get("attach_cluster_autoscaler_policy") is not True:
        problems.append("the cluster autoscaler has no IAM policy (module cluster_autoscaler_pod_identity)")
    return problems


@check
def device_plugin_only_where_the_ami_lacks_it(tf):
    plugin = tf.resources.get(("helm_release", "nvidia_device_plugin"))
    if not plugin:
        return ["helm_release.nvidia_device_plugin is missing"]
    problems = []
    if plugin.get("chart") != "nvidia-device-plugin" or plugin.get("repository") != "https://nvidia.github.io/k8s-device-plugin":
        problems.append("helm_release.nvidia_device_plugin is not NVIDIA's nvidia-device-plugin chart")
    if plugin.get("count") != "${local.install_nvidia_device_plugin ? 1 : 0}":
        problems.append("helm_release.nvidia_device_plugin must depend on local.install_nvidia_device_plugin")
    if tf.locals.get("install_nvidia_device_plugin") != "${!local.gpu_is_bottlerocket}":
        problems.append("local.install_nvidia_device_plugin must be true exactly when the GPU AMI is not Bottlerocket")
    if 'startswith(var.gpu_ami_type, \\"BOTTLEROCKET\\")' not in json.dumps(tf.locals.get("gpu_is_bottlerocket", "")):
        problems.append("local.gpu_is_bottlerocket must test var.gpu_ami_type for the BOTTLEROCKET prefix")
    return problems


@check
def keda_and_prometheus(tf):
    problems = []
    keda = tf.resources.get(("helm_release", "keda"))
    if not keda or keda.get("chart") != "keda" or keda.get("repository") != "https://kedacore.github.io/charts":
        problems.append("helm_release.keda must install the kedacore keda chart")
    elif "count" in keda or "for_each" in keda:
        problems.append("helm_release.keda must always be installed: the zkr chart's ScaledObjects need it")
    stack = tf.resources.get(("helm_release", "kube_prometheus_stack"))
    if not stack or stack.get("chart") != "kube-prometheus-stack":
        return problems + ["helm_release.kube_prometheus_stack is missing"]
    if stack.get("count") != "${var.install_kube_prometheus_stack ? 1 : 0}":
        problems.append("kube-prometheus-stack must be optional through var.install_kube_prometheus_stack")
    values = yamlencode_object(stack.get("values", [""])[0]) or {}
    spec = values.get("prometheus", {}).get("prometheusSpec", {})
    if spec.get("serviceMonitorSelectorNilUsesHelmValues") is not False:
        problems.append("kube-prometheus-stack's Prometheus would ignore the zkr chart's ServiceMonitor")
    if values.get("fullnameOverride") != "${local.kube_prometheus_stack_fullname}":
        problems.append("kube-prometheus-stack's fullnameOverride must be local.kube_prometheus_stack_fullname")
    fullname = tf.locals.get("kube_prometheus_stack_fullname")
    namespace = tf.locals.get("kube_prometheus_stack_namespace")
    if stack.get("namespace") != "${local.kube_prometheus_stack_namespace}":
        problems.append("kube-prometheus-stack must be installed in local.kube_prometheus_stack_namespace")
    expected = ("http://${local.kube_prometheus_stack_fullname}-prometheus."
                "${local.kube_prometheus_stack_namespace}.svc.cluster.local:9090")
    if tf.locals.get("bundled_prometheus_address") != expected or not fullname or not namespace:
        problems.append(f"local.bundled_prometheus_address must be the bundled Prometheus Service: {expected}")
    if tf.locals.get("prometheus_address") != ("${var.install_kube_prometheus_stack ? local.bundled_prometheus_address"
                                               " : var.prometheus_address}"):
        problems.append("local.prometheus_address must be the bundled Prometheus or var.prometheus_address")
    return problems


@check
def storage_for_the_statefulsets(tf):
    """The chart's node and coordinator keep state on volumes: EKS needs the EBS CSI driver and a default class."""
    problems = []
    addons = tf.modules.get("eks", {}).get("addons") or {}
    ebs = addons.get("aws-ebs-csi-driver")
    if ebs is None:
        problems.append("module eks does not install the aws-ebs-csi-driver add-on")
    elif "module.ebs_csi_pod_identity.iam_role_arn" not in json.dumps(ebs.get("pod_identity_association")):
        problems.append("the aws-ebs-csi-driver add-on has no IAM role (module.ebs_csi_pod_identity)")
    if tf.modules.get("ebs_csi_pod_identity", {}).get("attach_aws_ebs_csi_policy") is not True:
        problems.append("module ebs_csi_pod_identity must attach the EBS CSI policy")
    storage = tf.resources.get(("kubernetes_storage_class_v1", "gp3"))
    metadata = first((storage or {}).get("metadata"))
    if not storage or storage.get("storage_provisioner") != "ebs.csi.aws.com" or \
            (metadata.get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") != "true":
        problems.append("kubernetes_storage_class_v1.gp3 must be the default StorageClass, on ebs.csi.aws.com")
    elif (storage.get("parameters") or {}).get("encrypted") != "true":
        problems.append("the default StorageClass must encrypt its volumes")
    return problems


@check
def zkr_release(tf):
    release = tf.resources.get(("helm_release", "zkr"))
    if not release:
        return ["helm_release.zkr is missing"]
    problems = []
    path = tf.variables.get("zkr_chart_path", {}).get("default")
    if release.get("chart") != "${local.zkr_chart}" or path != "../helm/zkr":
        problems.append("helm_release.zkr must install the chart at var.zkr_chart_path, by default ../helm/zkr")
    if "yamlencode(local.zkr_values)" not in release.get("values", ""):
        problems.append("helm_release.zkr's values must include yamlencode(local.zkr_values)")
    depends = " ".join(release.get("depends_on", []))
    for needed in ("helm_release.keda", "helm_release.kube_prometheus_stack", "helm_release.nvidia_device_plugin",
                   "kubernetes_storage_class_v1.gp3"):
        if needed not in depends:
            problems.append(f"helm_release.zkr must depend on {needed}")
    values = tf.deep_resolve(tf.locals.get("zkr_values", {}))
    for path in ZKR_VALUE_PATHS:
        if not dig(values, path)[1]:
            problems.append(f"local.zkr_values does not set {path}")
    expected = {
        "image.repository": "${var.image_repository}",
        "image.tag": "${var.image_tag}",
        "prover.autoscaling.serverAddress": "${local.prometheus_address}",
        "serviceMonitor.enabled": "${var.install_kube_prometheus_stack}",
        "prover.pools.gpu.enabled": True,
        "prover.pools.gpu.autoscaling.enabled": True,
        "prover.pools.gpu.autoscaling.scaleToZero": "${var.gpu_scale_to_zero}",
        "prover.pools.gpu.autoscaling.minReplicas": "${var.gpu_workers_min_replicas}",
        "prover.pools.gpu.autoscaling.maxReplicas": "${var.gpu_workers_max_replicas}",
        "prover.pools.gpu.autoscaling.jobsPerWorker": "${var.gpu_jobs_per_worker}",
        "prover.pools.cpu.enabled": "${var.cpu_workers_enabled}",
    }
    for path, want in expected.items():
        got = dig(values, path)[0]
        if got != want:
            problems.append(f"local.zkr_values: {path} is {got!r}, expected {want!r}")
    gpu = dig(values, "prover.pools.gpu")[0] or {}
    limit = ((gpu.get("resources") or {}).get("limits") or {}).get("nvidia.com/gpu")
    if limit != 1:
        problems.append(f"GPU workers must take one GPU each (resources.limits nvidia.com/gpu = 1), not {limit!r}")
    minimum = tf.variables.get("gpu_workers_min_replicas", {})
    if not any("var.gpu_workers_min_replicas >= 1" in c for c in conditions(minimum)):
        problems.append("gpu_workers_min_replicas must be validated to at least 1 (the chart's schema minimum)")
    groups = tf.modules.get("eks", {}).get("eks_managed_node_groups") or {}
    labels = tf.deep_resolve((groups.get("gpu") or {}).get("labels")) or {}
    taint = tf.deep_resolve(tf.locals.get("gpu_taint")) or {}
    selector = gpu.get("nodeSelector")
    if not isinstance(selector, dict) or not selector or any(labels.get(k) != v for k, v in selector.items()):
        problems.append(f"GPU workers' nodeSelector {selector!r} does not select the gpu group's labels {labels!r}")
    effect = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
    tolerated = any(
        isinstance(t, dict) and t.get("key") == taint.get("key")
        and (t.get("operator") == "Exists" or t.get("value") == taint.get("value"))
        and t.get("effect") in (None, effect.get(taint.get("effect")))
        for t in gpu.get("tolerations") or []
    )
    if not tolerated:
        problems.append(f"GPU workers' tolerations {gpu.get('tolerations')!r} do not tolerate the gpu taint {taint!r}")
    return problems


class Unsupported(Exception):
    pass


def evaluate(tf, value, env):
    """Evaluates the few expression forms local.zkr_values uses, with `env` as the variables' values."""
    if isinstance(value, dict):
        return {k: evaluate(tf, v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate(tf, v, env) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value
    whole = re.fullmatch(r"\$\{([^${}]+)\}", value)
    if whole:
        return evaluate_expression(tf, whole.group(1).strip(), env)
    return re.sub(r"\$\{([^${}]+)\}", lambda m: str(evaluate_expression(tf, m.group(1).strip(), env)), value)


def evaluate_expression(tf, expression, env):
    ternary = re.fullmatch(r"(\S+) \? (\S+) : (\S+)", expression)
    if ternary:
        condition = evaluate_expression(tf, ternary.group(1), env)
        return evaluate_expression(tf, ternary.group(2) if condition else ternary.group(3), env)
    if re.fullmatch(r"-?\d+(\.\d+)?", expression):
        return json.loads(expression)
    m = re.fullmatch(r'(var|local)\.(\w+)((?:\.\w+|\["[^"]+"\])*)', expression)
    if not m:
        raise Unsupported(expression)
    if m.group(1) == "var":
        if m.group(2) not in env:
            raise Unsupported(expression)
        target = env[m.group(2)]
    else:
        if m.group(2) not in tf.locals:
            raise Unsupported(expression)
        target = evaluate(tf, tf.locals[m.group(2)], env)
    for key in re.findall(r'\.(\w+)|\["([^"]+)"\]', m.group(3)):
        target = target[key[0] or key[1]]
    return target


def helm_merge(base, override):
    """Helm's coalescing of a values file over the chart's values: maps merge, anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        elif value is None:
            merged.pop(key, None)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@check
def chart_accepts_these_values(tf):
    """The chart's values.yaml has every key set here and its values.schema.json accepts the result.

    Passes without looking while the chart does not exist (main() prints a note)."""
    chart = (tf.root / str(tf.variables.get("zkr_chart_path", {}).get("default", ""))).resolve()
    values_file = chart / "values.yaml"
    if not values_file.exists():
        return []
    chart_values = yaml.safe_load(values_file.read_text()) or {}
    problems = []

    def walk(tree, prefix):
        for key, value in tree.items():
            path = f"{prefix}.{key}" if prefix else key
            if not dig(chart_values, path)[1]:
                problems.append(f"{path} is set here but is not a value of the chart ({values_file.name})")
            elif isinstance(value, dict) and key not in FREE_FORM_VALUES:
                walk(value, path)

    walk(tf.deep_resolve(tf.locals.get("zkr_values", {})), "")
    schema_file = chart / "values.schema.json"
    if problems or not schema_file.exists():
        return problems
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    defaults = {name: body.get("default") for name, body in tf.variables.items()}
    example = tf.root / "terraform.tfvars.example"
    if example.exists():
        defaults.update(hcl2.loads(example.read_text(), serialization_options=OPTIONS))
    flipped = dict(defaults, gpu_scale_to_zero=not defaults.get("gpu_scale_to_zero"),
                   cpu_workers_enabled=not defaults.get("cpu_workers_enabled"),
                   install_kube_prometheus_stack=not defaults.get("install_kube_prometheus_stack"),
                   prometheus_address="http://prometheus.monitoring.svc.cluster.local:9090")
    for label, env in (("the defaults", defaults), ("the defaults with every switch flipped", flipped)):
        try:
            ours = evaluate(tf, tf.locals.get("zkr_values", {}), env)
        except (Unsupported, KeyError, TypeError) as e:
            problems.append(f"local.zkr_values uses an expression this check cannot evaluate: {e}")
            break
        merged = helm_merge(chart_values, ours)
        for error in sorted(validator.iter_errors(merged), key=lambda e: list(e.absolute_path)):
            where = ".".join(str(p) for p in error.absolute_path) or "(top)"
            problems.append(f"with {label}, the chart's schema refuses {where}: {error.message}")
    return problems


@check
def readme_costs_and_versions(tf):
    path = tf.root / "README.md"
    if not path.exists():
        return ["README.md is missing"]
    text = path.read_text()
    problems = []
    rows = markdown_table(text, "$ per hour")
    for instance in COST_TABLE_TYPES + [tf.variables.get("gpu_instance_type", {}).get("default", "")]:
        row = next((r for r in rows if r[0].split()[0] == instance), None) if rows else None
        hourly = number(row.get("$ per hour")) if row else None
        monthly = number(next((v for k, v in row.items() if k.startswith("$ per month")), None)) if row else None
        if hourly is None:
            problems.append(f"README.md's GPU cost table has no hourly price for {instance}")
        elif monthly is None or abs(monthly - hourly * 730) > 1:
            problems.append(f"README.md's GPU cost table: {instance}'s monthly cost is not 730 times ${hourly}")
    system_types = tf.variables.get("system_instance_types", {}).get("default") or [""]
    system_count = tf.variables.get("system_desired_size", {}).get("default")
    if not re.search(rf"^\|\s*system node group, {system_count} × {re.escape(system_types[0])}\b", text, re.M):
        problems.append(f"README.md's fixed costs do not price the default system group, {system_count} × {system_types[0]}")
    for needle, what in (
        (r"us-east-1", "the region of the prices"),
        (r"\b20\d\d-\d\d-\d\d\b", "the date the prices were taken"),
        (r"(?i)approximate", "that the prices are approximate"),
        (r"(?i)price list", "where the prices come from"),
        (r"EKS control plane[^\n]*\|\s*0\.10\s*\|", "the EKS control plane's cost"),
        (r"(?i)system node group[^\n]*\|\s*\d+\.\d+\s*\|", "the system node group's cost"),
        (r"(?i)scaling the GPU group to zero saves", "what scaling to zero saves"),
        (r"(?i)Bottlerocket[^\n]*device plugin|device plugin[^\n]*Bottlerocket", "which AMI ships the device plugin"),
    ):
        if not re.search(needle, text):
            problems.append(f"README.md does not give {what}")
    pins = []
    for name, body in tf.modules.items():
        if body.get("version"):
            pins.append((body["source"], body["version"]))
    for (rtype, name), body in tf.resources.items():
        if rtype == "helm_release" and body.get("version"):
            pins.append((body["chart"], body["version"]))
    for block in tf.terraform:
        for providers in block.get("required_providers", []):
            for spec in providers.values():
                pins.append((spec["source"], spec["version"]))
    for what, version in pins:
        if not re.search(rf"^\|\s*{re.escape(what)}\b[^|\n]*\|\s*{re.escape(version)}\s*\|", text, re.M):
            problems.append(f"README.md's version table does not list {what} {version}")
    return problems


def markdown_table(text, header_cell):
    """The rows of the first Markdown table with a header cell `header_cell`, as dicts (and by position: row[0])."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and header_cell in cells:
            rows = []
            for body in lines[index + 2:]:
                if not body.lstrip().startswith("|"):
                    break
                values = [c.strip() for c in body.strip().strip("|").split("|")]
                row = dict(zip(cells, values))
                row.update(enumerate(values))
                rows.append(row)
            return rows
    return []


def number(cell):
    if cell is None:
        return None
    m = re.fullmatch(r"\**\s*≈?\s*([\d,]+(?:\.\d+)?)\s*\**", cell)
    return float(m.group(1).replace(",", "")) if m else None


def run_checks(root):
    tf = Config(root)
    results = []
    for function in CHECKS:
        try:
            problems = function(tf)
        except Exception as e:  # a check that crashes on unexpected input fails, with the reason
            problems = [f"the check itself failed: {type(e).__name__}: {e}"]
        results.append((function.__name__, problems))
        if function is files_parse and problems:
            break
    return results


# ------------------------------------------------------------------------------------------------------------------
# Self-test: each mutation breaks a copy of the directory in one way that one check must catch.
# ------------------------------------------------------------------------------------------------------------------

MUTATIONS = [
    ("gpu_node_group", "main.tf", "      taints = {\n        gpu = local.gpu_taint\n      }\n", ""),
    ("gpu_node_group", "variables.tf", '  default     = "AL2023_x86_64_NVIDIA"', '  default     = "AL2023_x86_64_STANDARD"'),
    ("helm_charts_pinned", "addons.tf", '  version          = "2.20.2"\n', ""),
    ("no_credentials_or_account_ids", "variables.tf", 'default     = "us-east-1"',
     'default     = "us-east-1" # account ' + "2109" + "87654321"),
    ("storage_for_the_statefulsets", "addons.tf", '"storageclass.kubernetes.io/is-default-class" = "true"',
     '"storageclass.kubernetes.io/is-default-class" = "false"'),
    ("modules_pinned_and_inputs_exist", "main.tf", "  kubernetes_version = var.cluster_version",
     "  cluster_version = var.cluster_version"),
    ("variables_typed_described_and_used", "variables.tf",
     '  description = "Most nodes in the system node group."\n', ""),
    ("gpu_instance_type_validation", "variables.tf", "^(g5|g6|g6e|p4d|p5|p5e|p5en)", "^(g5|g6|g6e|p5|p5e|p5en)"),
    ("zkr_release", "zkr.tf", '    effect   = "NoSchedule"', '    effect   = "NoExecute"'),
    ("readme_costs_and_versions", "README.md", "| p5.48xlarge | 8 × H100, 80 GB | 9.0 | yes | 55.04 |",
     "| p5.48xlarge | 8 × H100, 80 GB | 9.0 | yes | n/a |"),
    ("providers_pinned", "versions.tf", 'version = "~> 3.1"', 'version = ">= 3.1"'),
    ("autoscaler_can_scale_gpu_nodes_from_zero", "main.tf", '"${local.gpu_taint.value}:NoSchedule"', '"true"'),
    ("device_plugin_only_where_the_ami_lacks_it", "addons.tf",
     "install_nvidia_device_plugin = !local.gpu_is_bottlerocket", "install_nvidia_device_plugin = true"),
]
# These need the chart next to the example (../helm/zkr); without it they are skipped.
CHART_MUTATIONS = [
    ("chart_accepts_these_values", "zkr.tf", "            jobsPerWorker = var.gpu_jobs_per_worker",
     "            threshold     = var.gpu_jobs_per_worker"),
    ("chart_accepts_these_values", "zkr.tf", "            minReplicas   = var.gpu_workers_min_replicas",
     "            minReplicas   = 0"),
]


def self_test(root):
    root = pathlib.Path(root).resolve()
    chart_dir = (root / "../helm").resolve()
    mutations = MUTATIONS + (CHART_MUTATIONS if (chart_dir / "zkr" / "values.yaml").exists() else [])
    if len(mutations) == len(MUTATIONS):
        print(f"self-test: note: no chart at {chart_dir / 'zkr'}; its {len(CHART_MUTATIONS)} mutations skipped")
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        for index, (expected, file, old, new) in enumerate(mutations):
            # The copy keeps the example's place next to the chart: <scratch>/<n>/terraform beside <n>/helm.
            copy_root = pathlib.Path(scratch) / str(index) / "terraform"
            shutil.copytree(root, copy_root, ignore=shutil.ignore_patterns(".terraform", "__pycache__"))
            if chart_dir.exists():
                (copy_root.parent / "helm").symlink_to(chart_dir)
            target = copy_root / file
            text = target.read_text()
            if old not in text:
                print(f"self-test: FAIL mutation {index} ({expected}): {old!r} not found in {file}")
                failures += 1
                continue
            target.write_text(text.replace(old, new, 1))
            caught = dict(run_checks(copy_root)).get(expected)
            if caught:
                print(f"self-test: ok   {expected} catches {file} mutation {index}: {caught[0]}")
            else:
                print(f"self-test: FAIL {expected} missed {file} mutation {index}")
                failures += 1
    print(f"self-test: {len(mutations) - failures} of {len(mutations)} mutations caught")
    return failures


def main(argv):
    selftest = "--self-test" in argv
    args = [a for a in argv if a != "--self-test"]
    root = pathlib.Path(args[0]) if args else HERE.parent
    if selftest:
        return 1 if self_test(root) else 0
    results = run_checks(root)
    failed = 0
    for name, problems in results:
        if problems:
            failed += 1
            print(f"check-terraform: FAIL {name}")
            for problem in problems:
                print(f"    {problem}")
        else:
            print(f"check-terraform: ok   {name}")
    chart = (root / "../helm/zkr/values.yaml").resolve()
    if not chart.exists():
        print(f"check-terraform: note: {chart} does not exist yet; the chart's value paths were not compared")
    print(f"check-terraform: {len(results) - failed} of {len(results)} static checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

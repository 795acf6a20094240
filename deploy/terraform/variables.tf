# ---------------------------------------------------------------------------------------------------------------
# Where and what
# ---------------------------------------------------------------------------------------------------------------

variable "region" {
  type        = string
  description = "AWS region to create everything in. GPU instance types are not offered in every region or zone: check that gpu_instance_type is (aws ec2 describe-instance-type-offerings --location-type availability-zone --filters Name=instance-type,Values=<type>)."
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1 or eu-west-2."
  }
}

variable "name" {
  type        = string
  description = "Name of the EKS cluster and the VPC, and the prefix of the IAM roles and node groups they create."
  default     = "zkr"

  validation {
    # Short, because the modules build IAM role name prefixes from it (at most 38 characters).
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name))
    error_message = "name must be 3 to 24 characters: lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "cluster_version" {
  type        = string
  description = "Kubernetes minor version of the EKS control plane and nodes. The default is in EKS standard support until March 2027; a version in extended support costs $0.60 instead of $0.10 per cluster-hour. Upgrade one minor version at a time."
  default     = "1.35"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.cluster_version)) && try(tonumber(split(".", var.cluster_version)[1]) >= 33, false)
    error_message = "cluster_version must be a Kubernetes minor version such as 1.35, and 1.33 or later."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every AWS resource (on top of Project = zkr and Cluster = <name>), e.g. a cost centre."
  default     = {}
}

# ---------------------------------------------------------------------------------------------------------------
# Network and API access
# ---------------------------------------------------------------------------------------------------------------

variable "vpc_cidr" {
  type        = string
  description = "Address range of the new VPC, /16 to /20. The three private subnets take the first three sixteenths of it (pods get VPC addresses), the three public subnets three /24-sized blocks after them (for a /16)."
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 20, false)
    error_message = "vpc_cidr must be an IPv4 CIDR block with a prefix length from /16 to /20, such as 10.0.0.0/16."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Two or three availability zones for the subnets (and so the nodes), e.g. [\"us-east-1a\", \"us-east-1b\"]. Pick zones that offer gpu_instance_type (P5 types are in few). Unset (null): the region's first three zones."
  default     = null

  validation {
    condition     = var.availability_zones == null || try(length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3 && alltrue([for zone in var.availability_zones : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z]$", zone))]), false)
    error_message = "availability_zones must be null or list two or three zone names such as us-east-1a."
  }
}

variable "single_nat_gateway" {
  type        = bool
  description = "One NAT gateway for the whole VPC (cheaper) instead of one per availability zone (survives the loss of a zone)."
  default     = true
}

variable "api_allowed_cidrs" {
  type        = list(string)
  description = "Address ranges allowed to reach the cluster's public Kubernetes API endpoint: where Terraform, kubectl and your CI run. Terraform itself needs the endpoint to install the Helm releases."

  validation {
    condition     = length(var.api_allowed_cidrs) > 0 && alltrue([for cidr in var.api_allowed_cidrs : can(cidrnetmask(cidr))])
    error_message = "api_allowed_cidrs must list at least one IPv4 CIDR block, such as 203.0.113.0/24."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# The system node group (everything but the GPU workers)
# ---------------------------------------------------------------------------------------------------------------

variable "system_instance_types" {
  type        = list(string)
  description = "Instance types of the system node group, which runs the zkr node, the coordinator, CPU workers, KEDA, Prometheus, Grafana and the cluster autoscaler. The coordinator's first start generates the verifying keys (up to 16 GiB), hence 32 GiB nodes by default; give it room for the CPU workers too if you enable them."
  default     = ["m7i.2xlarge"]

  validation {
    condition     = length(var.system_instance_types) > 0 && alltrue([for type in var.system_instance_types : can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", type))])
    error_message = "system_instance_types must list EC2 instance types such as m7i.xlarge."
  }
}

variable "system_min_size" {
  type        = number
  description = "Fewest nodes in the system node group."
  default     = 2

  validation {
    condition     = var.system_min_size >= 1 && floor(var.system_min_size) == var.system_min_size
    error_message = "system_min_size must be a whole number, at least 1 (the add-ons need somewhere to run)."
  }
}

variable "system_max_size" {
  type        = number
  description = "Most nodes in the system node group."
  default     = 4

  validation {
    condition     = var.system_max_size >= 1 && floor(var.system_max_size) == var.system_max_size
    error_message = "system_max_size must be a whole number, at least 1."
  }
}

variable "system_desired_size" {
  type        = number
  description = "Nodes in the system node group when it is created; afterwards the cluster autoscaler sets it."
  default     = 2

  validation {
    condition     = var.system_desired_size >= 1 && floor(var.system_desired_size) == var.system_desired_size
    error_message = "system_desired_size must be a whole number, at least 1."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# The GPU node group
# ---------------------------------------------------------------------------------------------------------------

variable "gpu_instance_type" {
  type        = string
  description = "Instance type of the GPU node group: a g5 (A10G), g6 (L4), g6e (L40S), p4d (A100) or p5/p5e/p5en (H100/H200) type. The zkr kernels are built for sm_90, so only the p5 family proves on the GPU (see README.md). Each GPU worker asks for 4 CPUs and 32 GiB, which the xlarge sizes of g5, g6 and g6e do not have."
  default     = "p5.4xlarge"

  validation {
    condition     = can(regex("^(g5|g6|g6e|p4d|p5|p5e|p5en)\\.([0-9]+)?xlarge$", var.gpu_instance_type))
    error_message = "gpu_instance_type must be a g5, g6, g6e, p4d, p5, p5e or p5en instance type, such as g6e.xlarge, p4d.24xlarge, p5.4xlarge or p5.48xlarge."
  }
}

variable "gpu_ami_type" {
  type        = string
  description = "EKS-optimized accelerated AMI of the GPU node group, with the NVIDIA driver and container toolkit: AL2023_x86_64_NVIDIA (this example then installs NVIDIA's device plugin) or BOTTLEROCKET_x86_64_NVIDIA (which ships the device plugin). zkr-prover needs a driver of the R580 branch or later (CUDA 13.0)."
  default     = "AL2023_x86_64_NVIDIA"

  validation {
    condition     = contains(["AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA"], var.gpu_ami_type)
    error_message = "gpu_ami_type must be AL2023_x86_64_NVIDIA or BOTTLEROCKET_x86_64_NVIDIA."
  }
}

variable "gpu_capacity_type" {
  type        = string
  description = "ON_DEMAND, or SPOT for spare capacity at a discount that EC2 can reclaim with two minutes' notice (a reclaimed worker's job goes back to the queue when its lease lapses)."
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.gpu_capacity_type)
    error_message = "gpu_capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "gpu_min_size" {
  type        = number
  description = "Fewest GPU nodes. 0 lets the node autoscaler remove every GPU node while no GPU worker runs, so an idle cluster pays nothing for GPUs."
  default     = 0

  validation {
    condition     = var.gpu_min_size >= 0 && floor(var.gpu_min_size) == var.gpu_min_size
    error_message = "gpu_min_size must be a whole number, 0 or more."
  }
}

variable "gpu_max_size" {
  type        = number
  description = "Most GPU nodes: the ceiling on GPU spend (and it must fit your account's EC2 vCPU quota for G/VT or P instances)."
  default     = 2

  validation {
    condition     = var.gpu_max_size >= 1 && floor(var.gpu_max_size) == var.gpu_max_size
    error_message = "gpu_max_size must be a whole number, at least 1."
  }
}

variable "gpu_desired_size" {
  type        = number
  description = "GPU nodes when the group is created; afterwards the node autoscaler sets it."
  default     = 0

  validation {
    condition     = var.gpu_desired_size >= 0 && floor(var.gpu_desired_size) == var.gpu_desired_size
    error_message = "gpu_desired_size must be a whole number, 0 or more."
  }
}

variable "gpu_disk_size_gib" {
  type        = number
  description = "Size in GiB of each GPU node's volume for container images and pod storage (gp3, encrypted). Unset (null): 50 GiB plus 50 per GPU, since each GPU worker asks for 40 GiB of ephemeral storage for its proving keys."
  default     = null

  validation {
    condition     = var.gpu_disk_size_gib == null || try(var.gpu_disk_size_gib >= 30 && var.gpu_disk_size_gib <= 16384, false)
    error_message = "gpu_disk_size_gib must be null or between 30 and 16384."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# Add-ons
# ---------------------------------------------------------------------------------------------------------------

variable "install_cluster_autoscaler" {
  type        = bool
  description = "Install the Kubernetes cluster autoscaler (with its IAM role through EKS Pod Identity), which adds GPU nodes for pending GPU workers and removes idle ones, down to gpu_min_size. Set false if you run Karpenter instead."
  default     = true
}

variable "scale_down_unneeded_time" {
  type        = string
  description = "How long a node must be idle before the cluster autoscaler removes it (its --scale-down-unneeded-time). Shorter saves GPU hours; longer saves node start-ups between bursts of jobs."
  default     = "5m"

  validation {
    condition     = can(regex("^([0-9]+h)?([0-9]+m)?([0-9]+s)?$", var.scale_down_unneeded_time)) && var.scale_down_unneeded_time != ""
    error_message = "scale_down_unneeded_time must be a duration such as 5m, 90s or 1h30m."
  }
}

variable "install_kube_prometheus_stack" {
  type        = bool
  description = "Install kube-prometheus-stack (Prometheus, Grafana, the Prometheus operator) in the monitoring namespace. Its Prometheus scrapes the zkr chart's ServiceMonitor, feeds KEDA the coordinator's queue depth and backs Grafana's zkr dashboard. Set false to use a Prometheus of your own (prometheus_address)."
  default     = true
}

variable "prometheus_address" {
  type        = string
  description = "URL of the Prometheus that KEDA queries for the coordinator's queue depth, used only when install_kube_prometheus_stack is false, e.g. http://prometheus.monitoring.svc.cluster.local:9090. It must scrape the coordinator."
  default     = ""

  validation {
    condition     = var.prometheus_address == "" || can(regex("^https?://[^\\s/@]+(:[0-9]+)?(/\\S*)?$", var.prometheus_address))
    error_message = "prometheus_address must be empty or an http(s) URL without credentials, such as http://prometheus.monitoring.svc.cluster.local:9090."
  }
}

variable "prometheus_retention" {
  type        = string
  description = "How long the bundled Prometheus keeps samples. It stores them on the node's disk (no persistent volume), so a rescheduled Prometheus starts empty."
  default     = "15d"

  validation {
    condition     = can(regex("^[0-9]+(h|d|w|y)$", var.prometheus_retention))
    error_message = "prometheus_retention must be a Prometheus duration such as 24h, 15d or 4w."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# The zkr chart
# ---------------------------------------------------------------------------------------------------------------

variable "zkr_chart_path" {
  type        = string
  description = "The zkr Helm chart: a directory, relative to this directory or absolute. The default is the chart in this repository."
  default     = "../helm/zkr"

  validation {
    condition     = length(trimspace(var.zkr_chart_path)) > 0
    error_message = "zkr_chart_path must not be empty."
  }
}

variable "zkr_namespace" {
  type        = string
  description = "Kubernetes namespace of the zkr release."
  default     = "zkr"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.zkr_namespace))
    error_message = "zkr_namespace must be a Kubernetes namespace name (lower-case letters, digits, hyphens)."
  }
}

variable "zkr_release_name" {
  type        = string
  description = "Helm release name of the zkr chart."
  default     = "zkr"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,51}[a-z0-9])?$", var.zkr_release_name))
    error_message = "zkr_release_name must be a Helm release name: lower-case letters, digits and hyphens, at most 53 characters."
  }
}

variable "image_repository" {
  type        = string
  description = "Registry and repository of the zkr image (zkr-node, zkr-coordinator, zkr-prover), without a tag, e.g. registry.example.com/zkr/zkr. The nodes pull it: for a private ECR repository in the same account the node role can already read it."

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9._-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)+$", var.image_repository))
    error_message = "image_repository must be a registry host and repository path such as registry.example.com/zkr/zkr, in lower case, with no tag, digest or credentials."
  }
}

variable "image_tag" {
  type        = string
  description = "Tag of the zkr image, e.g. a release version or a commit. A fixed tag, so that every node runs the same build."

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag must be an image tag (letters, digits, '_', '.', '-', at most 128 characters), and not 'latest'."
  }
}

variable "gpu_workers_max_replicas" {
  type        = number
  description = "Most GPU workers KEDA runs: one per GPU, so at most gpu_max_size times the GPUs of one node."
  default     = 2

  validation {
    condition     = var.gpu_workers_max_replicas >= 1 && floor(var.gpu_workers_max_replicas) == var.gpu_workers_max_replicas
    error_message = "gpu_workers_max_replicas must be a whole number, at least 1."
  }
}

variable "gpu_workers_min_replicas" {
  type        = number
  description = "GPU workers KEDA keeps while the queue is empty, when gpu_scale_to_zero is false (the chart ignores it otherwise)."
  default     = 1

  validation {
    condition     = var.gpu_workers_min_replicas >= 1 && floor(var.gpu_workers_min_replicas) == var.gpu_workers_min_replicas
    error_message = "gpu_workers_min_replicas must be a whole number, at least 1 (set gpu_scale_to_zero for none)."
  }
}

variable "gpu_scale_to_zero" {
  type        = bool
  description = "Let KEDA remove every GPU worker while the coordinator's queue is empty; with gpu_min_size = 0 the node autoscaler then removes the GPU nodes too. The first job after an idle spell waits for a node to start (a few minutes)."
  default     = true
}

variable "gpu_jobs_per_worker" {
  type        = number
  description = "Queued jobs per GPU worker: KEDA aims at ceil(queue depth / gpu_jobs_per_worker) workers (the target of its Prometheus trigger on the coordinator's queue depth)."
  default     = 1

  validation {
    condition     = var.gpu_jobs_per_worker > 0
    error_message = "gpu_jobs_per_worker must be greater than 0."
  }
}

variable "cpu_workers_enabled" {
  type        = bool
  description = "Also run CPU workers (zkr-prover on the CPU backend) on the system node group, scaled by KEDA from zero. Each asks for 8 CPUs and 32 GiB (the chart's prover.pools.cpu.resources): give the system group instance types that large (e.g. m7i.4xlarge)."
  default     = false
}

variable "cpu_workers_max_replicas" {
  type        = number
  description = "Most CPU workers KEDA runs when cpu_workers_enabled is true."
  default     = 2

  validation {
    condition     = var.cpu_workers_max_replicas >= 1 && floor(var.cpu_workers_max_replicas) == var.cpu_workers_max_replicas
    error_message = "cpu_workers_max_replicas must be a whole number, at least 1."
  }
}

variable "cpu_jobs_per_worker" {
  type        = number
  description = "Queued jobs per CPU worker, as gpu_jobs_per_worker."
  default     = 1

  validation {
    condition     = var.cpu_jobs_per_worker > 0
    error_message = "cpu_jobs_per_worker must be greater than 0."
  }
}

variable "zkr_extra_values" {
  type        = list(string)
  description = "More values files for the zkr chart, as YAML strings (e.g. file(\"zkr-values.yaml\")), applied after the ones this example builds. The chart needs at least l1.rpcUrl, l1.deployment, genesis, the cluster token, the L1 keys and the SRS (its values.yaml and ci/values-gpu.yaml show them). Keep secrets out: they would be stored in the Terraform state; give the chart existing Kubernetes Secrets (auth.existingSecret and the like) instead."
  default     = []
}

# The network and the cluster: a VPC over three availability zones, an EKS control plane, and two managed node
# groups. `system` runs everything that needs no GPU (the zkr node, the coordinator, CPU workers, KEDA, Prometheus,
# Grafana, the cluster autoscaler); `gpu` runs only the GPU workers, which tolerate its taint.

# Used when availability_zones is not set: the region's first three zones.
data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

# What the chosen GPU instance type offers: the GPU count per node feeds the cluster autoscaler's node template and
# the sizing checks below.
data "aws_ec2_instance_type" "gpu" {
  instance_type = var.gpu_instance_type

  lifecycle {
    postcondition {
      condition     = length(self.gpus) > 0
      error_message = "gpu_instance_type ${var.gpu_instance_type} has no GPU."
    }
    precondition {
      condition     = var.gpu_min_size <= var.gpu_desired_size && var.gpu_desired_size <= var.gpu_max_size
      error_message = "The GPU node group needs gpu_min_size <= gpu_desired_size <= gpu_max_size."
    }
    precondition {
      condition     = var.system_min_size <= var.system_desired_size && var.system_desired_size <= var.system_max_size
      error_message = "The system node group needs system_min_size <= system_desired_size <= system_max_size."
    }
  }
}

locals {
  azs = var.availability_zones != null ? var.availability_zones : slice(data.aws_availability_zones.available.names, 0, 3)

  tags = merge(var.tags, {
    Project = "zkr"
    Cluster = var.name
  })

  # The node pools are told apart by one label; the GPU pool also carries the labels and the taint that GPU tooling
  # looks for. NVIDIA's device plugin chart schedules its DaemonSet only on nodes labelled
  # nvidia.com/gpu.present=true (or labelled by Node Feature Discovery, which this example does not install).
  system_node_labels = {
    "zkr-pool" = "system"
  }
  gpu_node_labels = {
    "zkr-pool"               = "gpu"
    "nvidia.com/gpu"         = "true"
    "nvidia.com/gpu.present" = "true"
  }
  # Keeps every pod that does not tolerate it (all but the GPU workers and the device plugin) off the GPU nodes.
  gpu_taint = {
    key    = "nvidia.com/gpu"
    value  = "true"
    effect = "NO_SCHEDULE"
  }

  gpu_per_node = sum(concat([0], [for gpu in data.aws_ec2_instance_type.gpu.gpus : gpu.count]))

  # Bottlerocket keeps the OS on a small /dev/xvda and images and pods on /dev/xvdb; AL2023 has one root volume.
  gpu_is_bottlerocket = startswith(var.gpu_ami_type, "BOTTLEROCKET")
  gpu_data_device     = local.gpu_is_bottlerocket ? "/dev/xvdb" : "/dev/xvda"
  # Each GPU worker asks for 40 GiB of ephemeral storage (the proving keys it generates, the chart's
  # prover.pools.gpu.resources), so the volume grows with the GPUs per node unless gpu_disk_size_gib says otherwise.
  gpu_disk_size_gib = coalesce(var.gpu_disk_size_gib, 50 + 50 * local.gpu_per_node)

  # Tags on the GPU group's Auto Scaling group that describe its nodes to the cluster autoscaler while the group has
  # none, so that it can scale the group up from zero for a pending GPU worker (it reads the taint, the labels the
  # worker selects on, and how many GPUs a node adds).
  gpu_autoscaler_tags = merge(
    { for key, value in local.gpu_node_labels : "k8s.io/cluster-autoscaler/node-template/label/${key}" => value },
    {
      "k8s.io/cluster-autoscaler/node-template/taint/${local.gpu_taint.key}" = "${local.gpu_taint.value}:NoSchedule"
      "k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu"     = tostring(local.gpu_per_node)
    },
  )
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "6.6.0"

  name = var.name
  cidr = var.vpc_cidr
  azs  = local.azs

  # Nodes and pods live in three large private subnets (the VPC CNI gives each pod a VPC address); the public ones
  # hold only the NAT gateway(s) and any internet-facing load balancer.
  private_subnets = [for index, _ in local.azs : cidrsubnet(var.vpc_cidr, 4, index)]
  public_subnets  = [for index, _ in local.azs : cidrsubnet(var.vpc_cidr, 8, 48 + index)]

  enable_nat_gateway     = true
  single_nat_gateway     = var.single_nat_gateway
  one_nat_gateway_per_az = !var.single_nat_gateway
  enable_dns_hostnames   = true

  public_subnet_tags = {
    "kubernetes.io/role/elb" = 1
  }
  private_subnet_tags = {
    "kubernetes.io/role/internal-elb" = 1
    # Lets Karpenter find these subnets, should you run it instead of the cluster autoscaler (see README.md).
    "karpenter.sh/discovery" = var.name
  }
}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "21.19.0"

  name               = var.name
  kubernetes_version = var.cluster_version

  # Terraform, kubectl and helm reach the API from the addresses in api_allowed_cidrs; the nodes use the private
  # endpoint.
  endpoint_public_access                   = true
  endpoint_public_access_cidrs             = var.api_allowed_cidrs
  endpoint_private_access                  = true
  enable_cluster_creator_admin_permissions = true

  addons = {
    coredns = {}
    # The cluster autoscaler's AWS permissions come through EKS Pod Identity (addons.tf).
    eks-pod-identity-agent = {
      before_compute = true
    }
    kube-proxy = {}
    vpc-cni = {
      before_compute = true
    }
    # The zkr node's and the coordinator's StatefulSets keep their state on EBS volumes (addons.tf makes gp3 the
    # default StorageClass); EKS has no EBS driver until this add-on is installed.
    aws-ebs-csi-driver = {
      pod_identity_association = [{
        role_arn        = module.ebs_csi_pod_identity.iam_role_arn
        service_account = "ebs-csi-controller-sa"
      }]
    }
  }

  vpc_id     = module.vpc.vpc_id
  subnet_ids = module.vpc.private_subnets

  node_security_group_tags = {
    "karpenter.sh/discovery" = var.name
  }

  eks_managed_node_groups = {
    system = {
      ami_type       = "AL2023_x86_64_STANDARD"
      instance_types = var.system_instance_types
      min_size       = var.system_min_size
      max_size       = var.system_max_size
      # Read when the group is created; afterwards the module leaves the desired size to the autoscaler.
      desired_size = var.system_desired_size
      labels       = local.system_node_labels
    }

    gpu = {
      # An EKS-optimized accelerated AMI: the NVIDIA driver and container toolkit are in the image. AL2023 needs
      # NVIDIA's device plugin (addons.tf installs it); Bottlerocket runs the plugin itself.
      ami_type       = var.gpu_ami_type
      instance_types = [var.gpu_instance_type]
      capacity_type  = var.gpu_capacity_type
      # min_size 0 lets the cluster autoscaler (or Karpenter) remove every GPU node while no GPU worker runs.
      min_size     = var.gpu_min_size
      max_size     = var.gpu_max_size
      desired_size = var.gpu_desired_size

      labels = local.gpu_node_labels
      taints = {
        gpu = local.gpu_taint
      }

      block_device_mappings = {
        data = {
          device_name = local.gpu_data_device
          ebs = {
            volume_size           = local.gpu_disk_size_gib
            volume_type           = "gp3"
            encrypted             = true
            delete_on_termination = true
          }
        }
      }

      update_config = {
        max_unavailable = 1
      }
    }
  }
}

# The EBS CSI driver's AWS permissions (create, attach and delete volumes), for its controller's service account.
module "ebs_csi_pod_identity" {
  source  = "terraform-aws-modules/eks-pod-identity/aws"
  version = "2.8.1"

  name = "${var.name}-ebs-csi"

  attach_aws_ebs_csi_policy = true
}

# EKS does not copy a managed node group's labels and taints onto its Auto Scaling group; these tags do (see
# local.gpu_autoscaler_tags). A managed node group has exactly one Auto Scaling group.
resource "aws_autoscaling_group_tag" "gpu_node_template" {
  for_each = local.gpu_autoscaler_tags

  autoscaling_group_name = one(module.eks.eks_managed_node_groups["gpu"].node_group_autoscaling_group_names)

  tag {
    key                 = each.key
    value               = each.value
    propagate_at_launch = false
  }
}

# Warnings (terraform plan shows them; they do not stop an apply).

check "gpu_kernels_need_hopper" {
  assert {
    condition     = can(regex("^p5(e|en)?\\.", var.gpu_instance_type))
    error_message = "The zkr CUDA kernels are built for compute capability 9.0 (sm_90, Hopper: H100/H200). On ${var.gpu_instance_type} their module does not load: the GPU pool's workers (backend gpu) refuse to start, and with backend auto they prove on the CPU, so you pay for a GPU that is not used. Choose a p5 instance type, or build the kernels for this GPU's architecture too."
  }
}

check "gpu_node_fits_a_worker" {
  assert {
    # The chart's GPU worker requests 4 CPUs and 32 GiB of memory (prover.pools.gpu.resources); the kubelet, the
    # system and the DaemonSets need some of each node too.
    condition     = data.aws_ec2_instance_type.gpu.default_vcpus >= 5 * local.gpu_per_node && data.aws_ec2_instance_type.gpu.memory_size >= 36 * 1024 * local.gpu_per_node
    error_message = "A ${var.gpu_instance_type} node has ${data.aws_ec2_instance_type.gpu.default_vcpus} vCPUs and ${floor(data.aws_ec2_instance_type.gpu.memory_size / 1024)} GiB for ${local.gpu_per_node} GPU(s): too little for one GPU worker per GPU at the chart's requests (4 CPUs, 32 GiB). Pick a larger size of the family, or lower the requests in zkr_extra_values."
  }
}

check "zkr_chart_has_its_required_values" {
  assert {
    condition     = length(var.zkr_extra_values) > 0
    error_message = "zkr_extra_values is empty, but the zkr chart needs l1.rpcUrl, l1.deployment, genesis, the cluster token, the L1 keys and the SRS (see the chart's values.yaml and ci/values-gpu.yaml); its render stops at the first one missing."
  }
}

check "gpu_nodes_scale_to_zero" {
  assert {
    condition     = !var.gpu_scale_to_zero || var.gpu_min_size == 0
    error_message = "gpu_scale_to_zero removes idle GPU workers, but gpu_min_size = ${var.gpu_min_size} keeps that many GPU nodes (and their cost) running."
  }
}

check "gpu_nodes_have_an_autoscaler" {
  assert {
    condition     = var.install_cluster_autoscaler || var.gpu_min_size == var.gpu_max_size
    error_message = "install_cluster_autoscaler is false: nothing adds or removes GPU nodes as KEDA scales the workers. Run Karpenter or another node autoscaler, or set gpu_min_size = gpu_max_size."
  }
}

check "api_not_open_to_the_internet" {
  assert {
    condition     = !contains(var.api_allowed_cidrs, "0.0.0.0/0")
    error_message = "api_allowed_cidrs contains 0.0.0.0/0: the Kubernetes API endpoint is reachable from any address."
  }
}

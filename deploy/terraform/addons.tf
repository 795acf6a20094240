# Cluster add-ons: the default StorageClass, and pinned Helm charts: NVIDIA's device plugin (AL2023 GPU nodes only),
# KEDA, the cluster autoscaler and, optionally, kube-prometheus-stack.

locals {
  # Bottlerocket's NVIDIA variants run the device plugin themselves; the AL2023 NVIDIA AMI has the driver and the
  # container toolkit but no plugin, so without one the nodes would advertise no nvidia.com/gpu.
  install_nvidia_device_plugin = !local.gpu_is_bottlerocket

  # kube-prometheus-stack names its objects after fullnameOverride, which keeps the Prometheus address fixed.
  kube_prometheus_stack_namespace = "monitoring"
  kube_prometheus_stack_fullname  = "kps"
  bundled_prometheus_address      = "http://${local.kube_prometheus_stack_fullname}-prometheus.${local.kube_prometheus_stack_namespace}.svc.cluster.local:9090"
  prometheus_address              = var.install_kube_prometheus_stack ? local.bundled_prometheus_address : var.prometheus_address
}

# The default StorageClass, for the volumes of the zkr node and the coordinator (and anything else that asks for one
# without naming a class): encrypted gp3 through the EBS CSI driver. EKS itself marks no class as the default.
resource "kubernetes_storage_class_v1" "gp3" {
  metadata {
    name = "gp3"
    annotations = {
      "storageclass.kubernetes.io/is-default-class" = "true"
    }
  }

  storage_provisioner    = "ebs.csi.aws.com"
  reclaim_policy         = "Delete"
  volume_binding_mode    = "WaitForFirstConsumer"
  allow_volume_expansion = true
  parameters = {
    type      = "gp3"
    encrypted = "true"
  }

  depends_on = [module.eks]
}

resource "helm_release" "nvidia_device_plugin" {
  count = local.install_nvidia_device_plugin ? 1 : 0

  name             = "nvidia-device-plugin"
  namespace        = "nvidia-device-plugin"
  create_namespace = true
  repository       = "https://nvidia.github.io/k8s-device-plugin"
  chart            = "nvidia-device-plugin"
  version          = "0.20.0"

  # The chart's defaults fit, so no values: its DaemonSet tolerates the nvidia.com/gpu taint and runs on nodes
  # labelled nvidia.com/gpu.present=true, which the GPU node group carries. Installed before any GPU node exists, it
  # starts on each one as the autoscaler adds it.

  depends_on = [module.eks]
}

resource "helm_release" "keda" {
  name             = "keda"
  namespace        = "keda"
  create_namespace = true
  repository       = "https://kedacore.github.io/charts"
  chart            = "keda"
  version          = "2.20.2"

  depends_on = [module.eks]
}

resource "helm_release" "kube_prometheus_stack" {
  count = var.install_kube_prometheus_stack ? 1 : 0

  name             = "kube-prometheus-stack"
  namespace        = local.kube_prometheus_stack_namespace
  create_namespace = true
  repository       = "https://prometheus-community.github.io/helm-charts"
  chart            = "kube-prometheus-stack"
  version          = "88.5.3"
  # The first install also creates the operator's CRDs and waits for Grafana and Prometheus to start.
  timeout = 900

  values = [yamlencode({
    fullnameOverride = local.kube_prometheus_stack_fullname
    prometheus = {
      prometheusSpec = {
        # By default the chart's Prometheus only reads ServiceMonitors labelled with its own release; these make it
        # read every ServiceMonitor and PodMonitor, the zkr chart's included.
        serviceMonitorSelectorNilUsesHelmValues = false
        podMonitorSelectorNilUsesHelmValues     = false
        retention                               = var.prometheus_retention
      }
    }
    grafana = {
      fullnameOverride = "${local.kube_prometheus_stack_fullname}-grafana"
      # Grafana's sidecar loads dashboards from ConfigMaps labelled grafana_dashboard=1 in every namespace, which is
      # how the zkr chart's dashboard arrives. With no adminPassword set, the chart generates one into the
      # kps-grafana Secret (see the grafana_password_command output).
      sidecar = {
        dashboards = {
          enabled         = true
          searchNamespace = "ALL"
        }
      }
    }
    # Alerting is left to the operator: no Alertmanager, so nothing pages anyone by accident.
    alertmanager = {
      enabled = false
    }
  })]

  depends_on = [module.eks]
}

# The cluster autoscaler's AWS permissions (describe the node groups, set an Auto Scaling group's desired capacity),
# granted to its service account through EKS Pod Identity rather than to every node.
module "cluster_autoscaler_pod_identity" {
  count = var.install_cluster_autoscaler ? 1 : 0

  source  = "terraform-aws-modules/eks-pod-identity/aws"
  version = "2.8.1"

  name = "${var.name}-cluster-autoscaler"

  attach_cluster_autoscaler_policy = true
  cluster_autoscaler_cluster_names = [module.eks.cluster_name]

  associations = {
    this = {
      cluster_name    = module.eks.cluster_name
      namespace       = "kube-system"
      service_account = "cluster-autoscaler"
    }
  }
}

resource "helm_release" "cluster_autoscaler" {
  count = var.install_cluster_autoscaler ? 1 : 0

  name       = "cluster-autoscaler"
  namespace  = "kube-system"
  repository = "https://kubernetes.github.io/autoscaler"
  chart      = "cluster-autoscaler"
  version    = "9.59.0"

  values = [yamlencode({
    cloudProvider    = "aws"
    awsRegion        = var.region
    fullnameOverride = "cluster-autoscaler"
    # Finds both node groups by the tags EKS puts on their Auto Scaling groups.
    autoDiscovery = {
      clusterName = module.eks.cluster_name
    }
    rbac = {
      serviceAccount = {
        name = "cluster-autoscaler"
      }
    }
    # The autoscaler's minor version should match the cluster's.
    image = {
      tag = "v${var.cluster_version}.0"
    }
    extraArgs = {
      expander                      = "least-waste"
      "balance-similar-node-groups" = true
      "scale-down-unneeded-time"    = var.scale_down_unneeded_time
    }
  })]

  depends_on = [module.cluster_autoscaler_pod_identity]
}

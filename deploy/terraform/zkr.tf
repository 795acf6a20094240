# The proving cluster itself: the zkr chart from this repository (deploy/helm/zkr), with the values that tie it to
# this cluster. What else the chart needs (the L1 endpoint and deployment, the genesis, the token and keys as
# existing Secrets, the SRS) goes in zkr_extra_values.

locals {
  zkr_chart = startswith(var.zkr_chart_path, "/") ? var.zkr_chart_path : "${path.module}/${var.zkr_chart_path}"

  # The chart names its objects <release>-zkr-..., or <release>-... when the release name contains "zkr" (unless
  # zkr_extra_values sets fullnameOverride); the outputs use this for the coordinator's Service.
  zkr_fullname             = strcontains(var.zkr_release_name, "zkr") ? var.zkr_release_name : "${var.zkr_release_name}-zkr"
  coordinator_service_name = "${local.zkr_fullname}-coordinator"

  # GPU workers go to the GPU nodes (nodeSelector), may run there (the toleration matches the group's taint) and
  # take one GPU each, which the device plugin hands out.
  gpu_worker_node_selector = {
    "nvidia.com/gpu" = local.gpu_node_labels["nvidia.com/gpu"]
  }
  gpu_worker_tolerations = [{
    key      = local.gpu_taint.key
    operator = "Exists"
    effect   = "NoSchedule"
  }]

  # The chart's values.schema.json refuses unknown keys, so these follow its values.yaml exactly.
  zkr_values = {
    image = {
      repository = var.image_repository
      tag        = var.image_tag
    }
    # The coordinator's queue depth reaches KEDA through Prometheus: the ServiceMonitors get it scraped (they need
    # the Prometheus operator's CRDs, which kube-prometheus-stack installs) and each pool's ScaledObject queries it.
    serviceMonitor = {
      enabled = var.install_kube_prometheus_stack
    }
    prover = {
      autoscaling = {
        serverAddress = local.prometheus_address
      }
      pools = {
        gpu = {
          enabled      = true
          nodeSelector = local.gpu_worker_node_selector
          tolerations  = local.gpu_worker_tolerations
          # The chart's default already asks for one GPU; kept here because the node group is sized on it.
          resources = {
            limits = {
              "nvidia.com/gpu" = 1
            }
          }
          autoscaling = {
            enabled       = true
            scaleToZero   = var.gpu_scale_to_zero
            minReplicas   = var.gpu_workers_min_replicas
            maxReplicas   = var.gpu_workers_max_replicas
            jobsPerWorker = var.gpu_jobs_per_worker
          }
        }
        cpu = {
          enabled = var.cpu_workers_enabled
          nodeSelector = {
            "zkr-pool" = local.system_node_labels["zkr-pool"]
          }
          autoscaling = {
            enabled       = var.cpu_workers_enabled
            scaleToZero   = true
            maxReplicas   = var.cpu_workers_max_replicas
            jobsPerWorker = var.cpu_jobs_per_worker
          }
        }
      }
    }
  }
}

resource "kubernetes_namespace_v1" "zkr" {
  metadata {
    name = var.zkr_namespace
    labels = {
      "app.kubernetes.io/part-of" = "zkr"
    }
  }

  depends_on = [module.eks]
}

resource "helm_release" "zkr" {
  name      = var.zkr_release_name
  namespace = kubernetes_namespace_v1.zkr.metadata[0].name
  # A local chart, at the version in its Chart.yaml. Terraform upgrades the release when these values or that version
  # change, not when a template changes alone: bump the chart's version with its templates.
  chart = local.zkr_chart

  values = concat([yamlencode(local.zkr_values)], var.zkr_extra_values)

  # Waits for the node and the coordinator to become ready (the coordinator generates its verifying keys at its first
  # start). GPU workers start at zero replicas when gpu_scale_to_zero is true; otherwise the first ones wait for the
  # autoscaler to add a GPU node.
  wait    = true
  timeout = 900

  # The ServiceMonitors need the operator's CRDs, the ScaledObjects KEDA's, the StatefulSets' volumes the default
  # StorageClass, and GPU workers the device plugin.
  depends_on = [
    kubernetes_storage_class_v1.gp3,
    helm_release.kube_prometheus_stack,
    helm_release.keda,
    helm_release.nvidia_device_plugin,
    helm_release.cluster_autoscaler,
  ]

  lifecycle {
    precondition {
      condition     = local.prometheus_address != ""
      error_message = "KEDA needs a Prometheus to read the coordinator's queue depth from: set install_kube_prometheus_stack = true or give prometheus_address."
    }
    precondition {
      condition     = var.gpu_workers_max_replicas <= var.gpu_max_size * local.gpu_per_node
      error_message = "gpu_workers_max_replicas (${var.gpu_workers_max_replicas}) is more than the GPU node group can hold: gpu_max_size (${var.gpu_max_size}) nodes of ${local.gpu_per_node} GPU(s) each."
    }
    precondition {
      condition     = var.gpu_scale_to_zero || var.gpu_workers_min_replicas <= var.gpu_workers_max_replicas
      error_message = "gpu_workers_min_replicas must not exceed gpu_workers_max_replicas."
    }
  }
}

output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = module.eks.cluster_name
}

output "region" {
  description = "AWS region of the cluster."
  value       = var.region
}

output "kubeconfig_command" {
  description = "Adds the cluster to your kubeconfig (needs the AWS CLI and the same AWS identity that ran Terraform, or one given an access entry)."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}"
}

output "coordinator_service" {
  description = "In-cluster address of the coordinator's Service: workers connect to its gRPC port (50051), Prometheus scrapes its HTTP port (9102, /metrics and the status page). The name follows the chart's naming of its objects."
  value       = "${local.coordinator_service_name}.${var.zkr_namespace}.svc.cluster.local"
}

output "coordinator_status_page_command" {
  description = "Forwards the coordinator's HTTP port to http://127.0.0.1:9102 (its status page and metrics)."
  value       = "kubectl -n ${var.zkr_namespace} port-forward svc/${local.coordinator_service_name} 9102:9102"
}

output "zkr_services_command" {
  description = "Lists the Services of the zkr release, whatever the chart names them."
  value       = "kubectl -n ${var.zkr_namespace} get services -l app.kubernetes.io/instance=${var.zkr_release_name}"
}

output "prometheus_address" {
  description = "The Prometheus that KEDA queries for the coordinator's queue depth."
  value       = local.prometheus_address
}

output "grafana_command" {
  description = "Forwards Grafana to http://127.0.0.1:3000 (user admin), when kube-prometheus-stack is installed."
  value       = var.install_kube_prometheus_stack ? "kubectl -n ${local.kube_prometheus_stack_namespace} port-forward svc/${local.kube_prometheus_stack_fullname}-grafana 3000:80" : null
}

output "grafana_password_command" {
  description = "Prints Grafana's generated admin password, when kube-prometheus-stack is installed."
  value       = var.install_kube_prometheus_stack ? "kubectl -n ${local.kube_prometheus_stack_namespace} get secret ${local.kube_prometheus_stack_fullname}-grafana -o jsonpath='{.data.admin-password}' | base64 -d" : null
}

output "gpu_nodes_command" {
  description = "Lists the GPU nodes and the GPUs each advertises (0 or missing until the device plugin runs on the node)."
  value       = "kubectl get nodes -l nvidia.com/gpu=true -o custom-columns=NAME:.metadata.name,TYPE:.metadata.labels.node\\.kubernetes\\.io/instance-type,GPUS:.status.allocatable.nvidia\\.com/gpu"
}

output "gpu_node_group_autoscaling_group" {
  description = "Auto Scaling group of the GPU node group (its desired capacity is the number of GPU nodes)."
  value       = one(module.eks.eks_managed_node_groups["gpu"].node_group_autoscaling_group_names)
}

output "gpus_per_node" {
  description = "GPUs in one node of gpu_instance_type; each GPU worker takes one."
  value       = local.gpu_per_node
}

output "nvidia_device_plugin_installed" {
  description = "Whether this example installed NVIDIA's device plugin (AL2023 NVIDIA AMI) or left it to the AMI (Bottlerocket NVIDIA)."
  value       = local.install_nvidia_device_plugin
}

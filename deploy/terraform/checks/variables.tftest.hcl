# Exercises every input validation of variables.tf with Terraform itself. scripts/check-terraform.sh runs it, where a
# `terraform` binary is on the PATH, in a scratch copy holding only variables.tf and this file: there is nothing to
# create, so no provider or AWS account is needed. (It lives outside tests/ so that `terraform test` in the example
# itself does not pick it up.)

variables {
  api_allowed_cidrs = ["203.0.113.0/24"]
  image_repository  = "registry.example.com/zkr/zkr"
  image_tag         = "v0.1.0"
}

run "defaults_are_valid" {
  command = plan
}

run "accepts_every_documented_gpu_instance_type" {
  command = plan
  variables {
    gpu_instance_type = "g5.xlarge"
  }
}

run "accepts_g6" {
  command = plan
  variables {
    gpu_instance_type = "g6.xlarge"
  }
}

run "accepts_g6e" {
  command = plan
  variables {
    gpu_instance_type = "g6e.12xlarge"
  }
}

run "accepts_p4d" {
  command = plan
  variables {
    gpu_instance_type = "p4d.24xlarge"
  }
}

run "accepts_p5_48xlarge" {
  command = plan
  variables {
    gpu_instance_type = "p5.48xlarge"
  }
}

run "accepts_p5en" {
  command = plan
  variables {
    gpu_instance_type = "p5en.48xlarge"
  }
}

run "rejects_a_cpu_instance_type" {
  command = plan
  variables {
    gpu_instance_type = "m7i.xlarge"
  }
  expect_failures = [var.gpu_instance_type]
}

run "rejects_an_older_gpu_family" {
  command = plan
  variables {
    gpu_instance_type = "g4dn.xlarge"
  }
  expect_failures = [var.gpu_instance_type]
}

run "rejects_a_gpu_type_with_trailing_text" {
  command = plan
  variables {
    gpu_instance_type = "p5.48xlarge "
  }
  expect_failures = [var.gpu_instance_type]
}

run "accepts_bottlerocket_nvidia" {
  command = plan
  variables {
    gpu_ami_type = "BOTTLEROCKET_x86_64_NVIDIA"
  }
}

run "rejects_an_ami_without_the_nvidia_driver" {
  command = plan
  variables {
    gpu_ami_type = "AL2023_x86_64_STANDARD"
  }
  expect_failures = [var.gpu_ami_type]
}

run "rejects_an_unknown_capacity_type" {
  command = plan
  variables {
    gpu_capacity_type = "RESERVED"
  }
  expect_failures = [var.gpu_capacity_type]
}

run "accepts_a_gpu_pool_that_scales_to_zero" {
  command = plan
  variables {
    gpu_min_size     = 0
    gpu_desired_size = 0
    gpu_max_size     = 8
  }
}

run "rejects_a_negative_gpu_minimum" {
  command = plan
  variables {
    gpu_min_size = -1
  }
  expect_failures = [var.gpu_min_size]
}

run "rejects_a_fractional_gpu_maximum" {
  command = plan
  variables {
    gpu_max_size = 1.5
  }
  expect_failures = [var.gpu_max_size]
}

run "rejects_a_gpu_maximum_of_zero" {
  command = plan
  variables {
    gpu_max_size = 0
  }
  expect_failures = [var.gpu_max_size]
}

run "rejects_an_empty_system_group" {
  command = plan
  variables {
    system_min_size = 0
  }
  expect_failures = [var.system_min_size]
}

run "rejects_a_tiny_gpu_disk" {
  command = plan
  variables {
    gpu_disk_size_gib = 10
  }
  expect_failures = [var.gpu_disk_size_gib]
}

run "rejects_a_region_that_is_not_one" {
  command = plan
  variables {
    region = "us-east"
  }
  expect_failures = [var.region]
}

run "accepts_a_govcloud_region" {
  command = plan
  variables {
    region = "us-gov-west-1"
  }
}

run "rejects_an_old_kubernetes_version" {
  command = plan
  variables {
    cluster_version = "1.30"
  }
  expect_failures = [var.cluster_version]
}

run "rejects_a_patch_version" {
  command = plan
  variables {
    cluster_version = "1.35.2"
  }
  expect_failures = [var.cluster_version]
}

run "rejects_a_cluster_name_with_capitals" {
  command = plan
  variables {
    name = "Zkr"
  }
  expect_failures = [var.name]
}

run "rejects_a_small_vpc" {
  command = plan
  variables {
    vpc_cidr = "10.0.0.0/24"
  }
  expect_failures = [var.vpc_cidr]
}

run "rejects_no_api_cidrs" {
  command = plan
  variables {
    api_allowed_cidrs = []
  }
  expect_failures = [var.api_allowed_cidrs]
}

run "rejects_an_api_cidr_that_is_not_one" {
  command = plan
  variables {
    api_allowed_cidrs = ["203.0.113.7"]
  }
  expect_failures = [var.api_allowed_cidrs]
}

run "rejects_the_latest_tag" {
  command = plan
  variables {
    image_tag = "latest"
  }
  expect_failures = [var.image_tag]
}

run "rejects_a_repository_with_a_tag" {
  command = plan
  variables {
    image_repository = "registry.example.com/zkr/zkr:v0.1.0"
  }
  expect_failures = [var.image_repository]
}

run "accepts_a_registry_with_a_port" {
  command = plan
  variables {
    image_repository = "registry.example.com:5000/zkr/zkr"
  }
}

run "rejects_a_repository_with_credentials" {
  command = plan
  variables {
    image_repository = "user:secret@registry.example.com/zkr/zkr"
  }
  expect_failures = [var.image_repository]
}

run "rejects_a_prometheus_url_with_credentials" {
  command = plan
  variables {
    install_kube_prometheus_stack = false
    prometheus_address            = "http://user:secret@prometheus.monitoring:9090" # not-a-secret: must be rejected
  }
  expect_failures = [var.prometheus_address]
}

run "accepts_an_external_prometheus" {
  command = plan
  variables {
    install_kube_prometheus_stack = false
    prometheus_address            = "http://prometheus.monitoring.svc.cluster.local:9090"
  }
}

run "rejects_a_retention_without_a_unit" {
  command = plan
  variables {
    prometheus_retention = "15"
  }
  expect_failures = [var.prometheus_retention]
}

run "rejects_a_scale_down_time_that_is_not_a_duration" {
  command = plan
  variables {
    scale_down_unneeded_time = "five minutes"
  }
  expect_failures = [var.scale_down_unneeded_time]
}

run "rejects_zero_jobs_per_worker" {
  command = plan
  variables {
    gpu_jobs_per_worker = 0
  }
  expect_failures = [var.gpu_jobs_per_worker]
}

run "rejects_a_minimum_of_zero_gpu_workers" {
  command = plan
  variables {
    gpu_workers_min_replicas = 0
  }
  expect_failures = [var.gpu_workers_min_replicas]
}

run "accepts_an_explicit_gpu_disk_size" {
  command = plan
  variables {
    gpu_disk_size_gib = 500
  }
}

run "rejects_a_namespace_with_capitals" {
  command = plan
  variables {
    zkr_namespace = "ZKR"
  }
  expect_failures = [var.zkr_namespace]
}

run "accepts_two_zones" {
  command = plan
  variables {
    availability_zones = ["us-east-1a", "us-east-1d"]
  }
}

run "rejects_a_single_zone" {
  command = plan
  variables {
    availability_zones = ["us-east-1a"]
  }
  expect_failures = [var.availability_zones]
}

run "rejects_a_region_given_as_a_zone" {
  command = plan
  variables {
    availability_zones = ["us-east-1", "us-east-2"]
  }
  expect_failures = [var.availability_zones]
}

terraform {
  # terraform-aws-modules/eks 21.x needs Terraform 1.5.7 or later; `check` blocks need 1.5.
  required_version = ">= 1.5.7, < 2.0.0"

  # Pessimistic constraints: the newest minor of each major that this example was written against. `terraform init`
  # records the exact versions in .terraform.lock.hcl; commit that file in your copy so every apply uses the same ones.
  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The eks (21.x), vpc (6.x) and eks-pod-identity (2.x) modules need 6.28 or later.
      version = "~> 6.28"
    }
    helm = {
      source = "hashicorp/helm"
      # 3.x: `kubernetes`, `exec` and `set` are attributes, not blocks (see providers.tf).
      version = "~> 3.1"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 3.2"
    }
  }

  # State stays local unless you add a backend. For a team, keep it in S3 with native locking, e.g.:
  #
  # backend "s3" {
  #   bucket       = "your-state-bucket"
  #   key          = "zkr/terraform.tfstate"
  #   region       = "us-east-1"
  #   use_lockfile = true
  # }
}

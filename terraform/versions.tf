# jq on AWS: one environment (dev, staging or prod) per state. docs/deploy.md, "AWS".
# Checked offline by `make test-deploy` (tools/deploy-check: HCL parsed, every variable
# declared and used, the resources the seed system lists present, encryption and network
# rules); `terraform validate` and `plan` need the providers and an account (not run there).
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.60"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project     = "jq"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}

data "aws_availability_zones" "available" {
  state = "available"
}

data "aws_caller_identity" "current" {}

locals {
  name = "jq-${var.environment}"
  azs  = slice(data.aws_availability_zones.available.names, 0, var.az_count)
  # The Kubernetes namespace of this environment (k8s/overlays/job-queue-<environment>).
  namespace = "job-queue-${var.environment}"
}

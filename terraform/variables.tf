variable "environment" {
  description = "Environment name: dev, staging or prod. Names every resource (jq-<environment>) and selects the Kubernetes namespace job-queue-<environment>."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must look like us-east-1."
  }
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; k8s/base/networkpolicies.yaml admits the backends in 10.0.0.0/16, so change both together."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be an IPv4 CIDR of /20 or larger."
  }
}

variable "az_count" {
  description = "Availability zones used (subnets, NAT gateways, RDS Multi-AZ, MSK brokers)."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "az_count must be 2 or 3 (RDS Multi-AZ and MSK need at least 2)."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, for dev) instead of one per zone."
  type        = bool
  default     = false
}

variable "eks_version" {
  description = "Kubernetes version of the EKS cluster."
  type        = string
  default     = "1.30"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.eks_version))
    error_message = "eks_version must look like 1.30."
  }
}

variable "eks_public_access_cidrs" {
  description = "CIDRs allowed to reach the EKS API endpoint from the internet; empty = private endpoint only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.eks_public_access_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "eks_public_access_cidrs must be CIDRs, and not 0.0.0.0/0."
  }
}

variable "node_instance_types" {
  description = "Instance types of the EKS node group (the seed system used c5.xlarge or m5.large)."
  type        = list(string)
  default     = ["c5.xlarge"]

  validation {
    condition     = length(var.node_instance_types) > 0
    error_message = "node_instance_types needs at least one instance type."
  }
}

variable "node_min_size" {
  description = "Minimum nodes of the node group."
  type        = number
  default     = 3
}

variable "node_max_size" {
  description = "Maximum nodes of the node group (room for the worker autoscaler's maxReplicaCount)."
  type        = number
  default     = 12

  validation {
    condition     = var.node_max_size >= 1 && var.node_max_size <= 200
    error_message = "node_max_size must be between 1 and 200."
  }
}

variable "node_desired_size" {
  description = "Initial nodes of the node group (the cluster autoscaler moves it afterwards)."
  type        = number
  default     = 3
}

variable "db_instance_class" {
  description = "RDS instance class. docs/deploy.md, \"Capacity\": about 1 vCPU per 5,000 jobs/s end to end."
  type        = string
  default     = "db.m6g.xlarge"

  validation {
    condition     = startswith(var.db_instance_class, "db.")
    error_message = "db_instance_class must be an RDS class such as db.m6g.xlarge."
  }
}

variable "db_allocated_storage_gb" {
  description = "Initial RDS storage in GiB (gp3)."
  type        = number
  default     = 100

  validation {
    condition     = var.db_allocated_storage_gb >= 20
    error_message = "db_allocated_storage_gb must be at least 20."
  }
}

variable "db_max_allocated_storage_gb" {
  description = "RDS storage autoscaling ceiling in GiB."
  type        = number
  default     = 1000
}

variable "db_multi_az" {
  description = "RDS Multi-AZ (a synchronous standby, failover in 60-120 s). Keep true outside dev."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Days of automated backups and WAL kept for point-in-time recovery."
  type        = number
  default     = 14

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be 1-35 (0 would turn point-in-time recovery off)."
  }
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.m6g.large"

  validation {
    condition     = startswith(var.redis_node_type, "cache.")
    error_message = "redis_node_type must be an ElastiCache node type such as cache.m6g.large."
  }
}

variable "redis_transit_encryption_mode" {
  description = "ElastiCache in-transit encryption: \"preferred\" accepts TLS and plaintext clients, \"required\" only TLS. jq's Redis client speaks plaintext today (docs/deploy.md, \"AWS\"), so \"required\" waits for TLS support in jq."
  type        = string
  default     = "preferred"

  validation {
    condition     = contains(["preferred", "required"], var.redis_transit_encryption_mode)
    error_message = "redis_transit_encryption_mode must be preferred or required."
  }
}

variable "kafka_version" {
  description = "Kafka version of the MSK cluster."
  type        = string
  default     = "3.6.0"
}

variable "kafka_instance_type" {
  description = "MSK broker instance type."
  type        = string
  default     = "kafka.m5.large"

  validation {
    condition     = startswith(var.kafka_instance_type, "kafka.")
    error_message = "kafka_instance_type must be an MSK type such as kafka.m5.large."
  }
}

variable "kafka_broker_count" {
  description = "MSK brokers; a multiple of az_count."
  type        = number
  default     = 3

  validation {
    condition     = var.kafka_broker_count >= 2
    error_message = "kafka_broker_count must be at least 2."
  }
}

variable "kafka_volume_size_gb" {
  description = "EBS storage per MSK broker in GiB (job events are retained 7 days by default)."
  type        = number
  default     = 100
}

variable "ecr_keep_images" {
  description = "Images kept per ECR repository; older ones are expired (rollback needs the previous releases)."
  type        = number
  default     = 30

  validation {
    condition     = var.ecr_keep_images >= 5
    error_message = "ecr_keep_images must be at least 5, so that a rollback has images to go back to."
  }
}

variable "worker_policy_arns" {
  description = "IAM policies attached to the jq-worker pods' role (what the jobs may do in AWS); empty = nothing."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.worker_policy_arns : startswith(a, "arn:")])
    error_message = "worker_policy_arns must be IAM policy ARNs."
  }
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention of the cluster, broker and service log groups."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "grpc_certificate_arn" {
  description = "ACM certificate of the internal gRPC ALB (alb.tf); empty = no ALB, clients use the Service inside the cluster."
  type        = string
  default     = ""

  validation {
    condition     = var.grpc_certificate_arn == "" || startswith(var.grpc_certificate_arn, "arn:aws:acm:")
    error_message = "grpc_certificate_arn must be empty or an ACM certificate ARN."
  }
}

variable "grpc_client_cidrs" {
  description = "CIDRs admitted to the gRPC ALB on 443; empty = the VPC only."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.grpc_client_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "grpc_client_cidrs must be CIDRs, and not 0.0.0.0/0."
  }
}

variable "worker_api_key" {
  description = "The workers' API key (JQ_WORKER_API_KEY in jq/<env>/runtime): a fleet or worker key made with jq-ctl apikey create once jq runs. Empty: the bootstrap fleet key. docs/deploy.md, \"Secrets\"."
  type        = string
  default     = ""
  sensitive   = true
}

output "cluster_name" {
  description = "EKS cluster name: aws eks update-kubeconfig --name <this> --region <region>."
  value       = aws_eks_cluster.main.name
}

output "kubernetes_namespace" {
  description = "The namespace of this environment (kubectl apply -k k8s/overlays/<this>)."
  value       = local.namespace
}

output "ecr_repository_urls" {
  description = "ECR repositories of the two images, for the overlay's images: newName."
  value       = { for k, r in aws_ecr_repository.jq : k => r.repository_url }
}

output "db_endpoint" {
  description = "Private DNS name of PostgreSQL (a CNAME of the RDS endpoint)."
  value       = aws_route53_record.db.fqdn
}

output "db_instance_identifier" {
  description = "RDS instance identifier, for point-in-time restores (docs/deploy.md)."
  value       = aws_db_instance.main.identifier
}

output "redis_endpoint" {
  description = "Private DNS name of the Redis primary."
  value       = aws_route53_record.redis.fqdn
}

output "kafka_bootstrap_brokers" {
  description = "MSK plaintext bootstrap brokers (kafka.brokers)."
  value       = aws_msk_cluster.main.bootstrap_brokers
}

output "runtime_secret_name" {
  description = "Secrets Manager secret the ExternalSecret reads (k8s/overlays/*/secrets.yaml)."
  value       = aws_secretsmanager_secret.runtime.name
}

output "external_secrets_role_arn" {
  description = "IAM role of the service account jq-secrets-reader (k8s/overlays/*/secrets-reader.yaml)."
  value       = aws_iam_role.irsa["external-secrets"].arn
}

output "worker_role_arn" {
  description = "IAM role of the service account jq-worker (k8s/overlays/job-queue-prod/worker-serviceaccount.yaml)."
  value       = aws_iam_role.irsa["worker"].arn
}

output "kms_key_arn" {
  description = "KMS key encrypting this environment's data at rest."
  value       = aws_kms_key.main.arn
}

output "grpc_endpoint" {
  description = "DNS name of the internal gRPC ALB (port 443, TLS), or null without var.grpc_certificate_arn."
  value       = local.alb_enabled ? aws_lb.grpc[0].dns_name : null
}

output "grpc_target_group_arn" {
  description = "Target group for the TargetGroupBinding (k8s/overlays/job-queue-prod/grpc-targetgroupbinding.yaml)."
  value       = local.alb_enabled ? aws_lb_target_group.grpc[0].arn : null
}

# Redis 7 on ElastiCache: a primary and a replica in two zones with automatic failover,
# encrypted at rest and in transit, AUTH token required. Cluster mode is off: jq's Redis
# client talks to one endpoint (the primary endpoint follows a failover).
resource "aws_elasticache_subnet_group" "main" {
  name       = local.name
  subnet_ids = aws_subnet.private[*].id
}

resource "random_password" "redis" {
  length  = 48
  special = false # ElastiCache AUTH tokens refuse several special characters
}

resource "aws_elasticache_replication_group" "main" {
  replication_group_id = local.name
  description          = "jq ${var.environment}: rate limits, worker presence, status cache"
  engine               = "redis"
  engine_version       = "7.1"
  node_type            = var.redis_node_type
  port                 = 6379
  parameter_group_name = "default.redis7"

  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.main.name
  security_group_ids         = [aws_security_group.redis.id]

  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.main.arn
  transit_encryption_enabled = true
  transit_encryption_mode    = var.redis_transit_encryption_mode
  auth_token                 = random_password.redis.result

  snapshot_retention_limit = 1 # Redis holds nothing jq cannot rebuild; one daily snapshot
  apply_immediately        = false
}

# Stable private names for the backends (db.jq-<env>.internal, redis.jq-<env>.internal): the
# Secret names these, so replacing an RDS instance (a restore) is a DNS change, not a Secret
# change and a restart of every pod.
resource "aws_route53_zone" "internal" {
  name = "${local.name}.internal"

  vpc {
    vpc_id = aws_vpc.main.id
  }
}

resource "aws_route53_record" "db" {
  zone_id = aws_route53_zone.internal.zone_id
  name    = "db.${aws_route53_zone.internal.name}"
  type    = "CNAME"
  ttl     = 30
  records = [aws_db_instance.main.address]
}

resource "aws_route53_record" "redis" {
  zone_id = aws_route53_zone.internal.zone_id
  name    = "redis.${aws_route53_zone.internal.name}"
  type    = "CNAME"
  ttl     = 30
  records = [aws_elasticache_replication_group.main.primary_endpoint_address]
}

# Log groups per service, for a log shipper (Fluent Bit) on the nodes.
resource "aws_cloudwatch_log_group" "service" {
  for_each          = toset(["jq-server", "jq-worker"])
  name              = "/jq/${var.environment}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

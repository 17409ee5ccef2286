# jq/<environment>/runtime: the JSON the ExternalSecret in k8s/secrets/aws turns into the
# Secret jq-secrets; its keys are jq's environment variables. Rotating the database or Redis
# password: docs/deploy.md, "Secrets".
resource "aws_secretsmanager_secret" "runtime" {
  name                    = "jq/${var.environment}/runtime"
  description             = "jq ${var.environment}: backends of jq-server (JQ_* variables)"
  kms_key_id              = aws_kms_key.main.arn
  recovery_window_in_days = var.environment == "prod" ? 30 : 7
}

resource "aws_secretsmanager_secret_version" "runtime" {
  secret_id = aws_secretsmanager_secret.runtime.id
  secret_string = jsonencode({
    JQ_DB_HOST        = aws_route53_record.db.fqdn
    JQ_DB_PORT        = tostring(aws_db_instance.main.port)
    JQ_DB_NAME        = aws_db_instance.main.db_name
    JQ_DB_USER        = aws_db_instance.main.username
    JQ_DB_PASSWORD    = random_password.db.result
    JQ_REDIS_ADDR     = "${aws_route53_record.redis.fqdn}:6379"
    JQ_REDIS_PASSWORD = random_password.redis.result
    JQ_KAFKA_BROKERS  = aws_msk_cluster.main.bootstrap_brokers
    # Auth (docs/security.md): jq-server's bootstrap admin and fleet keys, and the workers'
    # key: the fleet key until var.worker_api_key names one of their own (docs/deploy.md,
    # "Secrets"). Workers never hold an admin key.
    JQ_AUTH_BOOTSTRAP_KEY       = random_password.bootstrap_key.result
    JQ_AUTH_BOOTSTRAP_FLEET_KEY = random_password.bootstrap_fleet_key.result
    JQ_WORKER_API_KEY           = var.worker_api_key != "" ? var.worker_api_key : random_password.bootstrap_fleet_key.result
    # TLS: k8s/components/tls, with its Secrets from cert-manager (docs/deploy.md, "TLS").
  })
}

# auth.bootstrap_key: at least 32 characters; letters and digits, so it is a bearer token.
resource "random_password" "bootstrap_key" {
  length  = 48
  special = false
}

# auth.bootstrap_fleet_key: the workers' key, as long and of the same letters.
resource "random_password" "bootstrap_fleet_key" {
  length  = 48
  special = false
}

# PostgreSQL 15 on RDS: Multi-AZ, encrypted, automated backups with point-in-time recovery
# (docs/deploy.md, "Backup and restore"), TLS required.
resource "aws_db_subnet_group" "main" {
  name       = local.name
  subnet_ids = aws_subnet.private[*].id
}

resource "aws_db_parameter_group" "main" {
  name   = "${local.name}-pg15"
  family = "postgres15"

  parameter {
    name  = "rds.force_ssl" # jq's libpq connects with sslmode=prefer, so TLS is used
    value = "1"
  }

  # jq's tables churn: finished jobs are deleted in batches (retention) and job rows are
  # updated 3 times in their life. Vacuum often (docs/performance.md, autovacuum notes).
  parameter {
    name  = "autovacuum_naptime"
    value = "10"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }
}

resource "random_password" "db" {
  length  = 40
  special = false # used in a libpq key=value string and in environment variables
}

resource "aws_db_instance" "main" {
  identifier     = local.name
  engine         = "postgres"
  engine_version = "15"
  instance_class = var.db_instance_class

  db_name  = "jq"
  username = "jq"
  password = random_password.db.result
  port     = 5432

  allocated_storage     = var.db_allocated_storage_gb
  max_allocated_storage = var.db_max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.main.arn

  multi_az               = var.db_multi_az
  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.rds.id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.main.name

  backup_retention_period   = var.db_backup_retention_days
  backup_window             = "03:00-04:00"
  maintenance_window        = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = var.environment == "prod"
  skip_final_snapshot       = var.environment == "dev"
  final_snapshot_identifier = "${local.name}-final"

  auto_minor_version_upgrade   = true
  performance_insights_enabled = true
  performance_insights_kms_key_id = aws_kms_key.main.arn
  enabled_cloudwatch_logs_exports = ["postgresql"]
}

# Kafka on MSK for the outbox relay's job events (docs/events.md). jq's Kafka client connects
# with PLAINTEXT or SASL_PLAINTEXT only, so clients use the plaintext listener (9092), limited
# to the EKS nodes by security group; brokers replicate over TLS and encrypt at rest.
resource "aws_msk_configuration" "main" {
  name           = local.name
  kafka_versions = [var.kafka_version]

  # jq publishes to job.* topics; creating them on first use with 3 replicas and acks=all
  # safety (min.insync.replicas=2) is what docs/events.md asks of a real cluster.
  server_properties = <<-PROPERTIES
    auto.create.topics.enable=true
    default.replication.factor=3
    min.insync.replicas=2
    num.partitions=6
    log.retention.hours=168
  PROPERTIES
}

resource "aws_cloudwatch_log_group" "msk" {
  name              = "/jq/${var.environment}/msk"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_msk_cluster" "main" {
  cluster_name           = local.name
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.kafka_broker_count

  broker_node_group_info {
    instance_type   = var.kafka_instance_type
    client_subnets  = aws_subnet.private[*].id
    security_groups = [aws_security_group.msk.id]

    storage_info {
      ebs_storage_info {
        volume_size = var.kafka_volume_size_gb
      }
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.main.arn
    revision = aws_msk_configuration.main.latest_revision
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = aws_kms_key.main.arn
    encryption_in_transit {
      client_broker = "TLS_PLAINTEXT"
      in_cluster    = true
    }
  }

  client_authentication {
    unauthenticated = true
  }

  lifecycle {
    precondition {
      condition     = var.kafka_broker_count % var.az_count == 0
      error_message = "kafka_broker_count must be a multiple of az_count (MSK spreads brokers evenly over the zones)."
    }
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.msk.name
      }
    }
  }
}

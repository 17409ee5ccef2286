# Three backends, three groups, each rule written out: what is admitted is read here at a glance.
# Security groups that admit only what jq needs: the EKS nodes (the cluster security group
# EKS puts on every node and pod) reach PostgreSQL on 5432, Redis on 6379 and Kafka's
# plaintext listener on 9092; the brokers talk to each other. Nothing else comes in, and no
# rule admits a CIDR. The backends initiate no connections, so they get no egress rules.
locals {
  eks_nodes_sg = aws_eks_cluster.main.vpc_config[0].cluster_security_group_id
}

resource "aws_security_group" "rds" {
  name        = "${local.name}-rds"
  description = "PostgreSQL for jq-server"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "rds_from_eks" {
  security_group_id            = aws_security_group.rds.id
  description                  = "PostgreSQL from the EKS nodes and pods"
  referenced_security_group_id = local.eks_nodes_sg
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_security_group" "redis" {
  name        = "${local.name}-redis"
  description = "Redis for jq-server"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_eks" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from the EKS nodes and pods"
  referenced_security_group_id = local.eks_nodes_sg
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6379
}

resource "aws_security_group" "msk" {
  name        = "${local.name}-msk"
  description = "Kafka for jq-server's outbox relay"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "msk_from_eks" {
  security_group_id            = aws_security_group.msk.id
  description                  = "Kafka plaintext listener from the EKS nodes and pods"
  referenced_security_group_id = local.eks_nodes_sg
  ip_protocol                  = "tcp"
  from_port                    = 9092
  to_port                      = 9092
}

resource "aws_vpc_security_group_ingress_rule" "msk_brokers" {
  security_group_id            = aws_security_group.msk.id
  description                  = "Broker to broker (replication, TLS)"
  referenced_security_group_id = aws_security_group.msk.id
  ip_protocol                  = "tcp"
  from_port                    = 9092
  to_port                      = 9094
}

resource "aws_vpc_security_group_egress_rule" "msk_brokers" {
  security_group_id            = aws_security_group.msk.id
  description                  = "Broker to broker (replication, TLS)"
  referenced_security_group_id = aws_security_group.msk.id
  ip_protocol                  = "tcp"
  from_port                    = 9092
  to_port                      = 9094
}

# gRPC for clients outside the cluster: an internal ALB in the private subnets terminates TLS
# (the seed system's "ALB, gRPC-compatible, TLS termination") and forwards gRPC to the
# jq-server pods' IPs. Created only when var.grpc_certificate_arn is set. The pods are
# registered by the AWS Load Balancer Controller from the TargetGroupBinding in
# k8s/overlays/job-queue-prod (install the controller with its own IAM role; its policy is
# AWS's). Within the cluster, workers and clients use the Service jq-server directly.
locals {
  alb_enabled       = var.grpc_certificate_arn != ""
  grpc_client_cidrs = length(var.grpc_client_cidrs) > 0 ? var.grpc_client_cidrs : [var.vpc_cidr]
}

resource "aws_security_group" "alb" {
  count       = local.alb_enabled ? 1 : 0
  name        = "${local.name}-grpc-alb"
  description = "gRPC clients to the jq-server ALB"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "alb_from_clients" {
  for_each          = local.alb_enabled ? toset(local.grpc_client_cidrs) : toset([])
  security_group_id = aws_security_group.alb[0].id
  description       = "gRPC over TLS from clients"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "alb_to_pods" {
  count                        = local.alb_enabled ? 1 : 0
  security_group_id            = aws_security_group.alb[0].id
  description                  = "gRPC to the jq-server pods"
  referenced_security_group_id = local.eks_nodes_sg
  ip_protocol                  = "tcp"
  from_port                    = 50051
  to_port                      = 50051
}

resource "aws_vpc_security_group_ingress_rule" "pods_from_alb" {
  count                        = local.alb_enabled ? 1 : 0
  security_group_id            = local.eks_nodes_sg
  description                  = "gRPC from the jq-server ALB"
  referenced_security_group_id = aws_security_group.alb[0].id
  ip_protocol                  = "tcp"
  from_port                    = 50051
  to_port                      = 50051
}

resource "aws_lb" "grpc" {
  count                      = local.alb_enabled ? 1 : 0
  name                       = "${local.name}-grpc"
  internal                   = true
  load_balancer_type         = "application"
  subnets                    = aws_subnet.private[*].id
  security_groups            = [aws_security_group.alb[0].id]
  idle_timeout               = 300
  drop_invalid_header_fields = true
  enable_deletion_protection = var.environment == "prod"
}

resource "aws_lb_target_group" "grpc" {
  count            = local.alb_enabled ? 1 : 0
  name             = "${local.name}-grpc"
  vpc_id           = aws_vpc.main.id
  target_type      = "ip"
  protocol         = "HTTP"
  protocol_version = "GRPC"
  port             = 50051

  # jq-server serves the standard gRPC health service.
  health_check {
    path    = "/grpc.health.v1.Health/Check"
    matcher = "0"
  }

  deregistration_delay = 30 # within jq-server's 45 s termination grace
}

resource "aws_lb_listener" "grpc" {
  count             = local.alb_enabled ? 1 : 0
  load_balancer_arn = aws_lb.grpc[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.grpc_certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.grpc[0].arn
  }
}

# IAM roles for service accounts (IRSA): each trusts exactly one Kubernetes service account of
# this environment's namespace.
#  - external-secrets: the account jq-secrets-reader (k8s/secrets/aws) may read this
#    environment's jq/ secret and nothing else.
#  - worker: the account jq-worker; what jobs may do in AWS is var.worker_policy_arns.
locals {
  oidc_issuer = replace(aws_iam_openid_connect_provider.eks.url, "https://", "")
  irsa_service_accounts = {
    external-secrets = "jq-secrets-reader"
    worker           = "jq-worker"
  }
}

data "aws_iam_policy_document" "irsa" {
  for_each = local.irsa_service_accounts

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.eks.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${local.namespace}:${each.value}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "irsa" {
  for_each           = local.irsa_service_accounts
  name               = "${local.name}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.irsa[each.key].json
}

data "aws_iam_policy_document" "read_runtime_secret" {
  statement {
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [aws_secretsmanager_secret.runtime.arn]
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
  }
}

resource "aws_iam_role_policy" "external_secrets" {
  name   = "read-jq-runtime-secret"
  role   = aws_iam_role.irsa["external-secrets"].id
  policy = data.aws_iam_policy_document.read_runtime_secret.json
}

resource "aws_iam_role_policy_attachment" "worker" {
  for_each   = toset(var.worker_policy_arns)
  role       = aws_iam_role.irsa["worker"].name
  policy_arn = each.value
}

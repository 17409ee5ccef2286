# The two images (docker/Dockerfile targets jq-server and jq-worker), scanned on push, tags
# immutable so that a tag always names the image that was tested.
resource "aws_ecr_repository" "jq" {
  for_each             = toset(["jq-server", "jq-worker"])
  name                 = each.key
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.main.arn
  }
}

resource "aws_ecr_lifecycle_policy" "jq" {
  for_each   = aws_ecr_repository.jq
  repository = each.value.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "keep the newest ${var.ecr_keep_images} images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = var.ecr_keep_images
      }
      action = { type = "expire" }
    }]
  })
}

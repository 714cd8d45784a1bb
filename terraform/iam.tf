locals {
  github_oidc_host = "token.actions.githubusercontent.com"
  # The repository's OIDC subject template (github.tf): with job_workflow_ref in the subject, a
  # token names the workflow file and the branch it was loaded from, so no other workflow and no
  # other branch's copy of deploy.yml (which anyone with write access can change) matches.
  github_oidc_claim_keys = ["repo", "context", "job_workflow_ref"]
  deploy_workflow_ref    = "${var.github_repository}/.github/workflows/deploy.yml@refs/heads/${var.github_default_branch}"
  # Jobs of deploy.yml on the default branch that run without `environment:` (Resolve, Build image).
  # Jobs with an environment present `environment:<name>` instead and match neither role: the
  # deploy jobs get no AWS credentials at all (the hosts pull with their instance role).
  deploy_workflow_subject  = "repo:${var.github_repository}:ref:refs/heads/${var.github_default_branch}:job_workflow_ref:${local.deploy_workflow_ref}"
  github_oidc_provider_arn = var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
}

resource "aws_iam_openid_connect_provider" "github" {
  count          = var.create_github_oidc_provider ? 1 : 0
  url            = "https://${local.github_oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  # AWS no longer checks these for GitHub's provider, but older provider versions require a value.
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 0 : 1
  url   = "https://${local.github_oidc_host}"
}

# Both roles trust exactly one subject: deploy.yml on the default branch, outside an environment.
# GitHub's token does not name the job; in that workflow only the build job asks for the build
# role, and only Resolve for the lookup role (test/pipeline/trusted-path.test.ts).
data "aws_iam_policy_document" "deploy_workflow_trust" {
  statement {
    sid     = "DeployWorkflowOnDefaultBranch"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_oidc_host}:sub"
      values   = [local.deploy_workflow_subject]
    }
  }
}

# Build image: pushes the image of a commit (once: tags are immutable) and nothing else.
resource "aws_iam_role" "build" {
  name                 = "${var.project}-github-build"
  description          = "Assumed by the build job of ${var.github_repository}'s deploy.yml on ${var.github_default_branch} (GitHub OIDC): push images to ECR"
  assume_role_policy   = data.aws_iam_policy_document.deploy_workflow_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "build_ecr_push" {
  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions.
  }

  statement {
    sid    = "EcrPushThisRepository"
    effect = "Allow"
    # Push, plus the reads a push and "the tag is not there yet" need.
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:InitiateLayerUpload",
      "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload",
      "ecr:PutImage",
      "ecr:BatchGetImage",
      "ecr:DescribeImages",
    ]
    resources = [aws_ecr_repository.app.arn]
  }
}

resource "aws_iam_role_policy" "build_ecr_push" {
  name   = "ecr-push"
  role   = aws_iam_role.build.id
  policy = data.aws_iam_policy_document.build_ecr_push.json
}

# Resolve: finds the digest of a commit's image and reads its manifest to verify its attestation.
resource "aws_iam_role" "lookup" {
  name                 = "${var.project}-github-lookup"
  description          = "Assumed by the Resolve job of ${var.github_repository}'s deploy.yml on ${var.github_default_branch} (GitHub OIDC): read ECR, never write"
  assume_role_policy   = data.aws_iam_policy_document.deploy_workflow_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "lookup_ecr_read" {
  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "EcrReadThisRepository"
    effect    = "Allow"
    actions   = ["ecr:DescribeImages", "ecr:BatchGetImage"]
    resources = [aws_ecr_repository.app.arn]
  }
}

resource "aws_iam_role_policy" "lookup_ecr_read" {
  name   = "ecr-read"
  role   = aws_iam_role.lookup.id
  policy = data.aws_iam_policy_document.lookup_ecr_read.json
}

data "aws_iam_policy_document" "host_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "host" {
  name               = "${var.project}-host"
  description        = "Staging and production hosts: pull images from ECR, nothing else"
  assume_role_policy = data.aws_iam_policy_document.host_trust.json
}

data "aws_iam_policy_document" "host_ecr_pull" {
  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid    = "EcrPullThisRepository"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [aws_ecr_repository.app.arn]
  }
}

resource "aws_iam_role_policy" "host_ecr_pull" {
  name   = "ecr-pull"
  role   = aws_iam_role.host.id
  policy = data.aws_iam_policy_document.host_ecr_pull.json
}

resource "aws_iam_instance_profile" "host" {
  name = "${var.project}-host"
  role = aws_iam_role.host.name
}

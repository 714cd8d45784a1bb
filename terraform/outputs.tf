output "ecr_registry" {
  description = "Registry host for docker login / image names (ACCOUNT.dkr.ecr.REGION.amazonaws.com)."
  value       = split("/", aws_ecr_repository.app.repository_url)[0]
}

output "ecr_repository" {
  description = "ECR repository name: the ECR_REPOSITORY repository variable in GitHub."
  value       = aws_ecr_repository.app.name
}

output "ecr_repository_url" {
  description = "Full image name without tag."
  value       = aws_ecr_repository.app.repository_url
}

output "deploy_role_arn" {
  description = "Role the deploy workflow assumes through OIDC: the AWS_DEPLOY_ROLE_ARN repository variable."
  value       = aws_iam_role.deploy.arn
}

output "staging_ip" {
  description = "Elastic IP of the staging host (DEPLOY_HOST of the staging environment)."
  value       = aws_eip.host["staging"].public_ip
}

output "production_ip" {
  description = "Elastic IP of the production host (DEPLOY_HOST of the production environment)."
  value       = aws_eip.host["production"].public_ip
}

output "deploy_user" {
  description = "SSH user on both hosts (DEPLOY_USER)."
  value       = "deploy"
}

output "app_dir" {
  description = "Application directory on both hosts (DEPLOY_PATH)."
  value       = local.app_dir
}

output "aws_region" {
  description = "Region everything was created in (AWS_REGION)."
  value       = var.aws_region
}

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

output "build_role_arn" {
  description = "Role the build job of deploy.yml assumes through OIDC to push images: the AWS_BUILD_ROLE_ARN repository variable."
  value       = aws_iam_role.build.arn
}

output "lookup_role_arn" {
  description = "Read-only role the Resolve job of deploy.yml assumes through OIDC: the AWS_LOOKUP_ROLE_ARN repository variable."
  value       = aws_iam_role.lookup.arn
}

output "github_oidc_subject" {
  description = "The only OIDC subject both roles trust: deploy.yml on the default branch, with the subject template repo, context, job_workflow_ref."
  value       = local.deploy_workflow_subject
}

output "github_oidc_subject_command" {
  description = "Sets the repository's OIDC subject template by hand (when manage_github_oidc_subject is false)."
  value       = "gh api -X PUT repos/${var.github_repository}/actions/oidc/customization/sub -F use_default=false ${join(" ", [for key in local.github_oidc_claim_keys : "-f 'include_claim_keys[]=${key}'"])}"
}

output "staging_ip" {
  description = "Elastic IP of the staging host (DEPLOY_HOST of the staging environment)."
  value       = aws_eip.host["staging"].public_ip
}

output "production_ip" {
  description = "Elastic IP of the production host (DEPLOY_HOST of the production environment)."
  value       = aws_eip.host["production"].public_ip
}

output "instance_ids" {
  description = "EC2 instance of each environment, for administering it with EC2 Instance Connect as ubuntu (docs/installation.md)."
  value       = { for env, host in aws_instance.host : env => host.id }
}

output "deploy_user" {
  description = "SSH user on both hosts (DEPLOY_USER); each environment's key reaches only deploybot-ssh-gate on its own host."
  value       = "deploy"
}

output "app_dir" {
  description = "Application directory on both hosts (the app's docker-compose.yml and the deploy state; set on the hosts, not in GitHub)."
  value       = local.app_dir
}

output "aws_region" {
  description = "Region everything was created in (AWS_REGION)."
  value       = var.aws_region
}

# The OIDC subject format the AWS roles trust (iam.tf): repo, context and job_workflow_ref, e.g.
#   repo:OWNER/REPO:ref:refs/heads/main:job_workflow_ref:OWNER/REPO/.github/workflows/deploy.yml@refs/heads/main
# Applied with the github provider when manage_github_oidc_subject is true (GITHUB_TOKEN must
# administer the repository); otherwise set it once with the gh api call in docs/installation.md.
# It changes the subject of every workflow of the repository that uses OIDC.
resource "github_actions_repository_oidc_subject_claim_customization_template" "deploy" {
  count = var.manage_github_oidc_subject ? 1 : 0

  repository         = local.github_repository_name
  use_default        = false
  include_claim_keys = local.github_oidc_claim_keys
}

locals {
  github_owner           = split("/", var.github_repository)[0]
  github_repository_name = split("/", var.github_repository)[1]
}

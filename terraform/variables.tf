variable "project" {
  description = "Name prefix for every resource (lowercase letters, digits and hyphens)."
  type        = string
  default     = "deploybot"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.project))
    error_message = "project must be 2-31 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "aws_region" {
  description = "AWS region to create everything in, e.g. us-east-1 (CloudShell: echo $AWS_REGION)."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like us-east-1 or eu-west-2."
  }
}

variable "github_default_branch" {
  description = "The repository's default branch. Only deploy.yml on this branch may assume the AWS roles (its build job pushes and attests images); every run of deploy.yml comes from it (pushes to develop dispatch it here)."
  type        = string
  default     = "main"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,200}$", var.github_default_branch)) && !strcontains(var.github_default_branch, "..")
    error_message = "github_default_branch must be one exact branch name (no wildcards), e.g. main."
  }
}

variable "manage_github_oidc_subject" {
  description = "true sets the repository's OIDC subject template (repo, context, job_workflow_ref) with the github provider (needs a GITHUB_TOKEN that administers the repository); false when you set it yourself with the gh api call in docs/installation.md. The roles trust only subjects in that format."
  type        = bool
  default     = true
}

variable "github_repository" {
  description = "The GitHub repository (owner/name) whose deploy workflow may assume the deploy role."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be owner/name, e.g. octocat/hello-world (no URL, no .git suffix)."
  }

  validation {
    condition     = !endswith(var.github_repository, ".git")
    error_message = "github_repository must not end in .git."
  }
}

variable "create_github_oidc_provider" {
  description = "true creates the GitHub Actions OIDC provider; false uses the one that already exists in this account (there can be only one per account)."
  type        = bool
  default     = true
}

variable "instance_type" {
  description = "EC2 instance type of the staging and production hosts."
  type        = string
  default     = "t3.small"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must be an EC2 instance type such as t3.small or t4g.micro."
  }
}

variable "root_volume_size_gb" {
  description = "Size of each host's encrypted root volume in GiB (images and logs live there)."
  type        = number
  default     = 20

  validation {
    condition     = var.root_volume_size_gb >= 8 && var.root_volume_size_gb <= 500
    error_message = "root_volume_size_gb must be between 8 and 500."
  }
}

variable "allowed_ssh_cidrs" {
  description = "CIDR blocks allowed to reach SSH (port 22) on the hosts: your CloudShell/office egress and GitHub runner ranges you trust. Never 0.0.0.0/0."
  type        = list(string)

  validation {
    condition     = length(var.allowed_ssh_cidrs) > 0
    error_message = "allowed_ssh_cidrs must list at least one CIDR block."
  }

  validation {
    condition     = alltrue([for c in var.allowed_ssh_cidrs : can(cidrnetmask(c))])
    error_message = "Every entry of allowed_ssh_cidrs must be an IPv4 CIDR block such as 203.0.113.7/32."
  }

  validation {
    condition     = alltrue([for c in var.allowed_ssh_cidrs : !endswith(trimspace(c), "/0")])
    error_message = "allowed_ssh_cidrs must not contain 0.0.0.0/0 (or any /0): SSH is never open to the whole internet."
  }
}

variable "ssh_public_keys" {
  description = "Each environment's own deploy key (one OpenSSH public key line each, from ssh-keygen): staging's and production's must differ. On its host the key can only run deploybot-ssh-gate (deploy, canary, rollback, state)."
  type        = map(string)

  validation {
    condition     = alltrue([for env in ["staging", "production"] : contains(keys(var.ssh_public_keys), env)]) && length(var.ssh_public_keys) == 2
    error_message = "ssh_public_keys must have exactly the keys staging and production."
  }

  validation {
    condition     = alltrue([for key in values(var.ssh_public_keys) : can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( [^\\n\"]*)?$", trimspace(key)))])
    error_message = "Each of ssh_public_keys must be one OpenSSH public key line (ssh-ed25519 AAAA... comment), not a private key."
  }

  validation {
    condition     = length(distinct([for key in values(var.ssh_public_keys) : try(split(" ", trimspace(key))[1], key)])) == length(var.ssh_public_keys)
    error_message = "ssh_public_keys must be different keys: a key that deploys staging must not deploy production."
  }
}

variable "host_health_url" {
  description = "URL each host probes after starting an image (the app on the host itself). The hosts take it from their own configuration, never from the SSH client."
  type        = string
  default     = "http://127.0.0.1:8080/health"

  validation {
    condition     = can(regex("^https?://[][A-Za-z0-9._~:/?#@!&+,;=%-]+$", var.host_health_url))
    error_message = "host_health_url must be an http(s) URL without spaces or quotes."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block."
  }
}

variable "ecr_keep_images" {
  description = "How many tagged images the ECR lifecycle policy keeps (older ones expire; untagged ones expire after 7 days)."
  type        = number
  default     = 50

  validation {
    condition     = var.ecr_keep_images >= 5
    error_message = "ecr_keep_images must be at least 5 so rollbacks have images to go back to."
  }
}

variable "deploy_strategies" {
  description = "How each host takes a new image (docs/zero-downtime.md): recreate (the default: the container is replaced in place), blue-green or canary (nginx on the host in front of two colours of the app; the app's compose file publishes 127.0.0.1:$${APP_PORT}). Set the environment's DEPLOY_STRATEGY variable in GitHub to match. Changing it on a running host means replacing the host (user data runs once)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for env, strategy in var.deploy_strategies : contains(["staging", "production"], env) && contains(["recreate", "blue-green", "canary"], strategy)])
    error_message = "deploy_strategies maps staging and/or production to recreate, blue-green or canary."
  }
}

variable "edge_port" {
  description = "Port the edge nginx of a blue-green or canary host listens on for the app (HTTP; add TLS servers in /etc/deploybot/edge/conf.d/). Not 22, nor 8081/8082 (the colours)."
  type        = number
  default     = 80

  validation {
    condition     = var.edge_port >= 1 && var.edge_port <= 65535 && !contains([22, 8081, 8082], var.edge_port)
    error_message = "edge_port must be a port other than 22, 8081 and 8082."
  }
}

variable "canary_pause_seconds" {
  description = "How long each canary step watches both versions' error rates before the next weight (canary hosts)."
  type        = number
  default     = 60

  validation {
    condition     = var.canary_pause_seconds >= 0 && var.canary_pause_seconds <= 3600 && floor(var.canary_pause_seconds) == var.canary_pause_seconds
    error_message = "canary_pause_seconds must be a whole number of seconds, 0-3600."
  }
}

variable "canary_error_margin" {
  description = "Percentage points the canary's error rate may exceed the stable version's before the step aborts it (canary hosts)."
  type        = number
  default     = 1

  validation {
    condition     = var.canary_error_margin >= 0 && var.canary_error_margin <= 100 && can(regex("^[0-9]{1,3}(\\.[0-9]{1,2})?$", tostring(var.canary_error_margin)))
    error_message = "canary_error_margin must be 0-100 percentage points, at most two decimals."
  }
}

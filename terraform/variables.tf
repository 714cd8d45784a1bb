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

variable "github_build_branches" {
  description = "Branches whose deploy.yml runs may assume the deploy role to look up and push images (Resolve and Build run without an environment): the default branch, plus develop when DEPLOY_ON_PUSH is on."
  type        = list(string)
  default     = ["main"]

  validation {
    condition     = length(var.github_build_branches) > 0 && alltrue([for b in var.github_build_branches : can(regex("^[A-Za-z0-9._/-]+$", b))])
    error_message = "github_build_branches must list exact branch names (no wildcards), e.g. [\"main\"]."
  }
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

variable "ssh_public_key" {
  description = "Public key (one line, ssh-ed25519 or ssh-rsa) installed for the deploy user on both hosts: cat ~/.ssh/deploy_key.pub."
  type        = string

  validation {
    condition     = can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( [^\\n]*)?$", trimspace(var.ssh_public_key)))
    error_message = "ssh_public_key must be one OpenSSH public key line (ssh-ed25519 AAAA... comment), not a private key."
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

locals {
  environments = {
    staging    = { subnet_index = 0 }
    production = { subnet_index = 1 }
  }
  app_dir = "/opt/app"
  # Installed root-owned on every host by user data: the deploy key's forced command and what it
  # runs. Nothing reachable over SSH can change them (docs/security.md: updating them).
  host_script_files = ["deploy.sh", "deploybot-ssh-gate", "health-check.sh", "rollback.sh"]
  host_scripts      = { for name in local.host_script_files : name => chomp(file("${path.module}/../scripts/${name}")) }
}

data "aws_ec2_instance_type" "host" {
  instance_type = var.instance_type
}

locals {
  ubuntu_arch = contains(data.aws_ec2_instance_type.host.supported_architectures, "arm64") ? "arm64" : "amd64"
}

# Ubuntu 24.04 ships Docker, the Compose plugin and the ECR credential helper as
# distribution packages, so user data installs nothing fetched from an ad-hoc URL.
data "aws_ami" "ubuntu" {
  most_recent = true
  owners      = ["099720109477"] # Canonical

  filter {
    name   = "name"
    values = ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${local.ubuntu_arch}-server-*"]
  }

  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

resource "aws_instance" "host" {
  for_each = local.environments

  ami                    = data.aws_ami.ubuntu.id
  instance_type          = var.instance_type
  subnet_id              = aws_subnet.public[each.value.subnet_index].id
  vpc_security_group_ids = [aws_security_group.host.id]
  iam_instance_profile   = aws_iam_instance_profile.host.name

  # Gzipped: the host scripts would not fit user data's 16 KB otherwise (cloud-init unpacks it).
  user_data_base64 = base64gzip(templatefile("${path.module}/user-data.sh.tftpl", {
    environment      = each.key
    ssh_public_key   = trimspace(var.ssh_public_keys[each.key])
    ecr_registry     = split("/", aws_ecr_repository.app.repository_url)[0]
    image_repository = aws_ecr_repository.app.repository_url
    app_dir          = local.app_dir
    health_url       = var.host_health_url
    host_scripts     = local.host_scripts
  }))
  user_data_replace_on_change = false

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required" # IMDSv2 only
    # 1 hop: the host's credential helper reaches the metadata service, containers do not.
    http_put_response_hop_limit = 1
  }

  root_block_device {
    encrypted             = true
    volume_type           = "gp3"
    volume_size           = var.root_volume_size_gb
    delete_on_termination = true
  }

  tags = {
    Name        = "${var.project}-${each.key}"
    Environment = each.key
  }

  lifecycle {
    # A newer AMI must not replace a running host on the next apply, nor new host scripts:
    # `terraform apply -replace` a host to install them (docs/security.md).
    ignore_changes = [ami, user_data, user_data_base64]
  }
}

resource "aws_eip" "host" {
  for_each = local.environments
  domain   = "vpc"
  instance = aws_instance.host[each.key].id

  tags = { Name = "${var.project}-${each.key}" }

  depends_on = [aws_internet_gateway.main]
}

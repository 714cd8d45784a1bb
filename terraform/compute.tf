locals {
  environments = {
    staging    = { subnet_index = 0 }
    production = { subnet_index = 1 }
  }
  app_dir = "/opt/app"
  # Installed root-owned on every host by user data: the deploy key's forced command and what it
  # runs. Nothing reachable over SSH can change them (docs/security.md: updating them).
  host_script_files = ["canary.sh", "colors-lib.sh", "deploy-lib.sh", "deploy.sh", "deploybot-ssh-gate", "health-check.sh", "rollback.sh"]
  # Without their comment lines (the shebang stays): user data must fit in 16 KB once gzipped.
  host_scripts = { for name in local.host_script_files : name => join("\n", [for line in split("\n", chomp(file("${path.module}/../scripts/${name}"))) : line if !can(regex("^\\s*#($|[^!])", line))]) }

  # recreate, blue-green or canary per host (docs/zero-downtime.md). Blue-green and canary hosts
  # run nginx (the "edge", as the deploy user) in front of the app's two colours; the host probes
  # the app through it, at the path of host_health_url.
  deploy_strategy = { for env in keys(local.environments) : env => lookup(var.deploy_strategies, env, "recreate") }
  health_path     = try(regex("^https?://[^/]+(/.*)$", var.host_health_url)[0], "/")
  host_health_url = {
    for env, strategy in local.deploy_strategy :
    env => strategy == "recreate" ? var.host_health_url : "http://127.0.0.1:${var.edge_port}${local.health_path}"
  }
  # The paths are the defaults of scripts/colors-lib.sh, so gate.conf need not name them.
  edge_nginx_conf = chomp(templatefile("${path.module}/edge-nginx.conf.tftpl", {
    pid_file      = "/run/deploybot-edge/nginx.pid"
    error_log     = "/var/log/deploybot/edge-error.log"
    access_log    = "/var/log/deploybot/edge-access.log"
    temp_dir      = "/var/lib/deploybot/edge/temp"
    upstream_file = "/var/lib/deploybot/edge/upstream.conf"
    listen        = tostring(var.edge_port)
    conf_dir      = "/etc/deploybot/edge/conf.d"
  }))
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
    health_url       = local.host_health_url[each.key]
    host_scripts     = local.host_scripts
    deploy_strategy  = local.deploy_strategy[each.key]
    edge_nginx_conf  = local.edge_nginx_conf
    canary_pause     = var.canary_pause_seconds
    canary_margin    = var.canary_error_margin
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

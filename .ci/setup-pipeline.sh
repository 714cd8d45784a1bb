#!/usr/bin/env bash
# Setup for test/pipeline/ on a fresh Debian 12 machine (runs as root, idempotent).
# The host-script tests drive podman through the `docker` CLI; Debian ships that CLI only inside
# docker.io, whose daemon the tests do not need: install it without letting it start.
set -euo pipefail

if ! command -v docker >/dev/null 2>&1; then
  echo "setup-pipeline: installing the docker CLI (docker.io) without starting its daemon"
  policy=/usr/sbin/policy-rc.d
  created=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# setup-pipeline: no service starts while docker.io installs\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created=true
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  if [ "$created" = true ]; then
    rm -f "$policy"
  fi
fi

# sshd's privilege separation directory (normally made by its service unit).
mkdir -p /run/sshd
chmod 755 /run/sshd

docker --version
podman --version

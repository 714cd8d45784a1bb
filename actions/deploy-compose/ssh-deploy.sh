#!/usr/bin/env bash
# Asks an environment's host to deploy an image (or roll back) over SSH, with the host key pinned.
#
# The deploy key is restricted on the host to one forced command, deploybot-ssh-gate, which runs
# the host's installed deploy.sh / rollback.sh (root-owned, from Terraform's user data) and
# nothing else: this script sends only `deploy <environment> <image@sha256:digest>`,
# `rollback <environment>` or `state <environment>`. Nothing is copied to the host, and the host
# takes its paths and health settings from its own configuration, not from here.
#
# Env: DEPLOY_HOST, DEPLOY_USER (deploy), DEPLOY_SSH_PORT (22), DEPLOY_SSH_KEY (the environment's
#      private key), DEPLOY_SSH_KNOWN_HOSTS (the host's known_hosts line(s)),
#      DEPLOY_COMMAND (deploy | rollback | state), DEPLOY_ENVIRONMENT, DEPLOY_IMAGE (deploy only:
#      registry/repository@sha256:<64 hex>; a tag is refused with exit 2).
# Exit: the host's exit code (see scripts/deploy.sh; 2 also when the gate refused the request),
#       2 for bad settings here, 255 when SSH itself fails (unreachable host, wrong key, host key
#       mismatch).
# Writes previous_image, result and exit_code to $GITHUB_OUTPUT when that is set.
set -euo pipefail

fail() {
  printf 'ssh-deploy: %s\n' "$*" >&2
  exit 2
}

readonly IMAGE_PATTERN='^[A-Za-z0-9]+([.-][A-Za-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+@sha256:[a-f0-9]{64}$'
host="${DEPLOY_HOST:-}"
user="${DEPLOY_USER:-deploy}"
port="${DEPLOY_SSH_PORT:-22}"
command="${DEPLOY_COMMAND:-deploy}"
environment="${DEPLOY_ENVIRONMENT:-}"
image="${DEPLOY_IMAGE:-}"

[[ "$host" =~ ^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$|^[0-9A-Fa-f:]{2,39}$ ]] ||
  fail "DEPLOY_HOST must be a host name or IP address, got $(printf '%q' "$host")"
[[ "$user" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || fail "DEPLOY_USER is not a user name: $(printf '%q' "$user")"
{ [[ "$port" =~ ^[0-9]{1,5}$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ]; } ||
  fail "DEPLOY_SSH_PORT is not a port: $(printf '%q' "$port")"
[[ "$environment" =~ ^[a-z][a-z0-9-]{0,31}$ ]] || fail "bad environment $(printf '%q' "$environment")"
[ -n "${DEPLOY_SSH_KEY:-}" ] || fail "the environment's SSH key is empty"
# Never fall back to trust-on-first-use: without a pinned host key there is no connection.
[ -n "${DEPLOY_SSH_KNOWN_HOSTS:-}" ] || fail "DEPLOY_SSH_KNOWN_HOSTS is empty: add the host's known_hosts line"

# Every word is checked against a pattern without spaces or shell metacharacters; the host's
# gate checks them again and splits the request on spaces, never evaluating it.
case "$command" in
deploy)
  { [ "${#image}" -le 255 ] && [[ "$image" =~ $IMAGE_PATTERN ]]; } ||
    fail "refusing image $(printf '%q' "$image"): want registry/repository@sha256:<64 hex>, never a tag"
  remote="deploy $environment $image"
  ;;
rollback | state) remote="$command $environment" ;;
*) fail "DEPLOY_COMMAND must be deploy, rollback or state, got $(printf '%q' "$command")" ;;
esac

work="$(mktemp -d "${RUNNER_TEMP:-/tmp}/ssh-deploy.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT
(
  umask 077
  printf '%s\n' "$DEPLOY_SSH_KEY" >"$work/key"
  printf '%s\n' "$DEPLOY_SSH_KNOWN_HOSTS" >"$work/known_hosts"
)

ssh_opts=(
  -F /dev/null -p "$port" -i "$work/key"
  -o IdentitiesOnly=yes -o BatchMode=yes
  -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$work/known_hosts" -o GlobalKnownHostsFile=/dev/null
  -o ConnectTimeout=20 -o ServerAliveInterval=15 -o ServerAliveCountMax=4
  -o ClearAllForwardings=yes -o ForwardAgent=no -o RequestTTY=no
)
printf 'ssh-deploy: %s on %s@%s:%s\n' "$remote" "$user" "$host" "$port"
set +e
# The request is one argument; the host's gate reads it from SSH_ORIGINAL_COMMAND.
# shellcheck disable=SC2029
ssh "${ssh_opts[@]}" "$user@$host" "$remote" </dev/null 2>&1 | tee "$work/log"
code="${PIPESTATUS[0]}"
set -e

previous="$(sed -n 's/^previous_image=//p' "$work/log" | tail -n 1)"
result="$(sed -n 's/^result=//p' "$work/log" | tail -n 1)"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    printf 'previous_image=%s\n' "$previous"
    printf 'result=%s\n' "${result:-error}"
    printf 'exit_code=%s\n' "$code"
  } >>"$GITHUB_OUTPUT"
fi
exit "$code"

#!/usr/bin/env bash
# Asks an environment's host to deploy an image (or move a canary, or roll back) over SSH, with
# the host key pinned.
#
# The deploy key is restricted on the host to one forced command, deploybot-ssh-gate, which runs
# the host's installed deploy.sh / canary.sh / rollback.sh (root-owned, from Terraform's user data)
# and nothing else: this script sends only `deploy <environment> <image@sha256:digest> [strategy]`,
# `canary <environment> <image> <weight>`, `rollback <environment> [<image>]` or
# `state <environment>`. Nothing is copied to the host, and the host takes its paths, ports, health
# and canary settings from its own configuration, not from here.
#
# Env: DEPLOY_HOST, DEPLOY_USER (deploy), DEPLOY_SSH_PORT (22), DEPLOY_SSH_KEY (the environment's
#      private key), DEPLOY_SSH_KNOWN_HOSTS (the host's known_hosts line(s)),
#      DEPLOY_COMMAND (deploy | canary | rollback | state), DEPLOY_ENVIRONMENT, DEPLOY_IMAGE
#      (registry/repository@sha256:<64 hex>; a tag is refused with exit 2: deploy and canary need
#      it, rollback takes it to undo only that image), DEPLOY_STRATEGY (deploy: recreate, the
#      default, is sent as before issue #15, without a word; blue-green and canary are named),
#      DEPLOY_CANARY_WEIGHT (canary: 1-100).
# Exit: the host's exit code (see scripts/deploy.sh; 2 also when the gate refused the request),
#       2 for bad settings here, 255 when SSH itself fails (unreachable host, wrong key, host key
#       mismatch).
# Writes previous_image, result, exit_code and, for a canary step, weight, canary_requests,
# canary_errors, stable_requests and stable_errors to $GITHUB_OUTPUT when that is set.
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
strategy="${DEPLOY_STRATEGY:-recreate}"
weight="${DEPLOY_CANARY_WEIGHT:-}"

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
check_image() {
  { [ "${#image}" -le 255 ] && [[ "$image" =~ $IMAGE_PATTERN ]]; } ||
    fail "refusing image $(printf '%q' "$image"): want registry/repository@sha256:<64 hex>, never a tag"
}
case "$command" in
deploy)
  check_image
  remote="deploy $environment $image"
  case "$strategy" in
  recreate) ;;
  blue-green | canary) remote="$remote $strategy" ;;
  *) fail "DEPLOY_STRATEGY must be recreate, blue-green or canary, got $(printf '%q' "$strategy")" ;;
  esac
  ;;
canary)
  check_image
  [[ "$weight" =~ ^([1-9][0-9]?|100)$ ]] || fail "DEPLOY_CANARY_WEIGHT must be 1-100, got $(printf '%q' "$weight")"
  remote="canary $environment $image $weight"
  ;;
rollback)
  remote="rollback $environment"
  if [ -n "$image" ]; then
    check_image
    remote="$remote $image"
  fi
  ;;
state) remote="state $environment" ;;
*) fail "DEPLOY_COMMAND must be deploy, canary, rollback or state, got $(printf '%q' "$command")" ;;
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

# The last value the host printed for a name (only characters an image, a result or a count has).
last() { sed -n "s|^$1=\\([A-Za-z0-9._:/@-]*\\)\$|\\1|p" "$work/log" | tail -n 1; }
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    printf 'previous_image=%s\n' "$(last previous_image)"
    printf 'result=%s\n' "$(last result | grep . || echo error)"
    printf 'exit_code=%s\n' "$code"
    if [ "$command" = canary ]; then
      for name in weight canary_requests canary_errors stable_requests stable_errors; do
        printf '%s=%s\n' "$name" "$(last "$name")"
      done
    fi
  } >>"$GITHUB_OUTPUT"
fi
exit "$code"

#!/usr/bin/env bash
# Runs scripts/deploy.sh (or rollback.sh) on the deploy host over SSH, with the host key pinned.
# The scripts are copied from this checkout on every run (tar over the same connection), so the
# host always runs the version that matches the workflow.
#
# Env: DEPLOY_HOST, DEPLOY_USER (deploy), DEPLOY_SSH_PORT (22), DEPLOY_PATH (/opt/app),
#      DEPLOY_SSH_KEY (private key), DEPLOY_SSH_KNOWN_HOSTS (the host's known_hosts line(s)),
#      DEPLOY_COMMAND (deploy | rollback), DEPLOY_ENVIRONMENT, DEPLOY_IMAGE (deploy only),
#      HEALTH_URL, HEALTH_TRIES, HEALTH_INTERVAL, COMPOSE_CMD (optional, passed through).
# Exit: the remote script's exit code (see scripts/deploy.sh), 2 for bad settings here,
#       255 when SSH itself fails (unreachable host, wrong key, host key mismatch).
# Writes previous_image, result and exit_code to $GITHUB_OUTPUT when that is set.
set -euo pipefail

fail() {
  printf 'ssh-deploy: %s\n' "$*" >&2
  exit 2
}

host="${DEPLOY_HOST:-}"
user="${DEPLOY_USER:-deploy}"
port="${DEPLOY_SSH_PORT:-22}"
deploy_path="${DEPLOY_PATH:-/opt/app}"
command="${DEPLOY_COMMAND:-deploy}"
environment="${DEPLOY_ENVIRONMENT:-}"
image="${DEPLOY_IMAGE:-}"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
scripts_dir="${SCRIPTS_DIR:-$script_dir/../../scripts}"

[[ "$host" =~ ^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$|^[0-9A-Fa-f:]{2,39}$ ]] ||
  fail "DEPLOY_HOST must be a host name or IP address, got $(printf '%q' "$host")"
[[ "$user" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || fail "DEPLOY_USER is not a user name: $(printf '%q' "$user")"
{ [[ "$port" =~ ^[0-9]{1,5}$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ]; } ||
  fail "DEPLOY_SSH_PORT is not a port: $(printf '%q' "$port")"
{ [[ "$deploy_path" =~ ^(/[A-Za-z0-9_][A-Za-z0-9._-]*)+/?$ ]] && [[ "/$deploy_path/" != */../* ]]; } ||
  fail "DEPLOY_PATH must be an absolute path without '..', got $(printf '%q' "$deploy_path")"
[[ "$environment" =~ ^[a-z][a-z0-9-]{0,31}$ ]] || fail "bad environment $(printf '%q' "$environment")"
[ -n "${DEPLOY_SSH_KEY:-}" ] || fail "DEPLOY_SSH_KEY is empty"
# Never fall back to trust-on-first-use: without a pinned host key there is no connection.
[ -n "${DEPLOY_SSH_KNOWN_HOSTS:-}" ] || fail "DEPLOY_SSH_KNOWN_HOSTS is empty: add the host's known_hosts line"
for script in deploy.sh rollback.sh health-check.sh; do
  [ -f "$scripts_dir/$script" ] || fail "missing $scripts_dir/$script"
done

remote_bin="${deploy_path%/}/.deploy/bin"
# Every value is validated above or by the remote script, and quoted here: the remote login shell
# sees words, never code.
remote_env=(env "DEPLOY_PATH=$deploy_path")
for name in HEALTH_URL HEALTH_TRIES HEALTH_INTERVAL HEALTH_STATUS COMPOSE_CMD; do
  if [ -n "${!name:-}" ]; then
    remote_env+=("$name=${!name}")
  fi
done
case "$command" in
deploy) remote_cmd=(bash "$remote_bin/deploy.sh" "$environment" "$image") ;;
rollback) remote_cmd=(bash "$remote_bin/rollback.sh" "$environment") ;;
*) fail "DEPLOY_COMMAND must be deploy or rollback, got $(printf '%q' "$command")" ;;
esac
printf -v remote 'umask 022 && mkdir -p -- %q && tar -x -f - -C %q && ' "$remote_bin" "$remote_bin"
printf -v quoted ' %q' "${remote_env[@]}" "${remote_cmd[@]}"
remote="$remote${quoted# }"

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
)
printf 'ssh-deploy: %s %s on %s@%s:%s\n' "$command" "${image:-(previous image)}" "$user" "$host" "$port"
set +e
# Expanding $remote on this side is the point (SC2029): it is quoted word by word above.
# shellcheck disable=SC2029
tar -C "$scripts_dir" -c -f - deploy.sh rollback.sh health-check.sh |
  ssh "${ssh_opts[@]}" "$user@$host" "$remote" 2>&1 | tee "$work/log"
statuses=("${PIPESTATUS[@]}")
set -e
code="${statuses[1]}"
if [ "${statuses[0]}" -ne 0 ] && [ "$code" -eq 0 ]; then
  code=2
fi

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

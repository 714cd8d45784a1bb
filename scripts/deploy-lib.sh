#!/usr/bin/env bash
# Shared by deploy.sh, rollback.sh and canary.sh: argument patterns, the host's settings (checked
# before anything changes), the lock, Compose, the history and health probes. Sourced, never run.
# Every value comes from the gate's environment (the host's gate.conf), never from the SSH client.
#
# Env (all optional; docs/pipeline.md has the table):
#   DEPLOY_PATH, COMPOSE_FILE, COMPOSE_CMD, COMPOSE_PROJECT, HEALTH_URL, HEALTH_TRIES,
#   HEALTH_INTERVAL, HEALTH_STATUS, DEPLOY_LOCK_WAIT, DEPLOY_IMAGE_REPOSITORY, and
#   DEPLOY_STRATEGY (recreate | blue-green | canary: what this host is set up for, default recreate).
#   Colour hosts (blue-green, canary) also: BLUE_PORT, GREEN_PORT, NGINX_CONF, NGINX_UPSTREAM,
#   NGINX_ACCESS_LOG, CANARY_PAUSE, CANARY_ERROR_MARGIN, CANARY_MIN_REQUESTS (see colors-lib.sh).
set -euo pipefail

readonly ENVIRONMENT_PATTERN='^[a-z][a-z0-9-]{0,31}$'
# host[:port]/path[/path...] then @sha256:<digest>. No shell metacharacters can match, and no tag:
# `repo:tag` is refused with exit 2.
readonly REPOSITORY_PATTERN='^[A-Za-z0-9]+([.-][A-Za-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+$'
readonly IMAGE_PATTERN='^[A-Za-z0-9]+([.-][A-Za-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+@sha256:[a-f0-9]{64}$'
readonly PATH_PATTERN='^(/[A-Za-z0-9_][A-Za-z0-9._-]*)+/?$'
# Same as health-check.sh: http(s) only, no whitespace or quotes.
readonly URL_PATTERN='^https?://[][A-Za-z0-9._~:/?#@!&+,;=%-]+$'
readonly WORD_PATTERN='^[A-Za-z0-9][A-Za-z0-9._/-]*$'
readonly STRATEGY_PATTERN='^(recreate|blue-green|canary)$'

log() { printf '%s: %s\n' "${LOG_NAME:-deploy}" "$*"; }
fail() {
  local code="$1"
  shift
  printf '%s: %s\n' "${LOG_NAME:-deploy}" "$*" >&2
  exit "$code"
}
now_ms() { date +%s%3N; }

check_environment_arg() {
  [[ "$1" =~ $ENVIRONMENT_PATTERN ]] ||
    fail 2 "refusing environment $(printf '%q' "$1"): must match $ENVIRONMENT_PATTERN"
}

# A digest of the one repository this host deploys (when DEPLOY_IMAGE_REPOSITORY is set).
check_image_arg() {
  local image="$1" allowed="${DEPLOY_IMAGE_REPOSITORY:-}"
  { [ "${#image}" -le 255 ] && [[ "$image" =~ $IMAGE_PATTERN ]]; } ||
    fail 2 "refusing image $(printf '%q' "$image"): want registry/repository@sha256:<64 hex> (a digest, not a tag)"
  if [ -n "$allowed" ]; then
    [[ "$allowed" =~ $REPOSITORY_PATTERN ]] || fail 2 "refusing DEPLOY_IMAGE_REPOSITORY $(printf '%q' "$allowed")"
    [ "${image%@sha256:*}" = "$allowed" ] ||
      fail 2 "refusing image $(printf '%q' "$image"): this host deploys only $allowed"
  fi
}

# The host's strategy, and whether a requested one can run here. A recreate host runs one Compose
# project on the app's own port; blue-green and canary hosts run two colours behind nginx, and
# either of those two strategies (never recreate) can run on such a host.
host_strategy() {
  local strategy="${DEPLOY_STRATEGY:-recreate}"
  [[ "$strategy" =~ $STRATEGY_PATTERN ]] || fail 2 "refusing DEPLOY_STRATEGY $(printf '%q' "$strategy")"
  printf '%s\n' "$strategy"
}
is_colour_strategy() { [ "$1" = blue-green ] || [ "$1" = canary ]; }
check_strategy_arg() {
  local requested="$1" host="$2"
  [[ "$requested" =~ $STRATEGY_PATTERN ]] ||
    fail 2 "refusing strategy $(printf '%q' "$requested"): want recreate, blue-green or canary"
  if is_colour_strategy "$requested" && is_colour_strategy "$host"; then return 0; fi
  [ "$requested" = "$host" ] ||
    fail 2 "refusing strategy $requested: this host is set up for $host (DEPLOY_STRATEGY in its gate.conf)"
}

# Reads and checks every setting, so a bad value stops us before anything changes. Sets the globals
# the scripts use. $1: environment.
load_settings() {
  environment="$1"
  deploy_path="${DEPLOY_PATH:-/opt/app}"
  compose_file="${COMPOSE_FILE:-docker-compose.yml}"
  project="${COMPOSE_PROJECT:-app-$environment}"
  health_url="${HEALTH_URL:-http://127.0.0.1:8080/health}"
  health_tries="${HEALTH_TRIES:-10}"
  health_interval="${HEALTH_INTERVAL:-10}"
  health_status="${HEALTH_STATUS:-200}"
  lock_wait="${DEPLOY_LOCK_WAIT:-120}"
  strategy="$(host_strategy)"

  { [[ "$deploy_path" =~ $PATH_PATTERN ]] && [[ "/$deploy_path/" != */../* ]]; } ||
    fail 2 "refusing DEPLOY_PATH $(printf '%q' "$deploy_path"): want an absolute path without '..'"
  { [[ "$compose_file" =~ $WORD_PATTERN ]] && [[ "/$compose_file/" != */../* ]]; } ||
    fail 2 "refusing COMPOSE_FILE $(printf '%q' "$compose_file")"
  # Colour projects add -blue or -green: the name must leave room for that.
  [[ "$project" =~ ^[a-z0-9][a-z0-9_-]{0,55}$ ]] || fail 2 "refusing COMPOSE_PROJECT $(printf '%q' "$project")"
  [[ "$lock_wait" =~ ^[0-9]{1,4}$ ]] || fail 2 "refusing DEPLOY_LOCK_WAIT $(printf '%q' "$lock_wait")"
  # The compose command is split into words, never evaluated.
  read -r -a compose_cmd <<<"${COMPOSE_CMD:-docker compose}"
  { [ "${#compose_cmd[@]}" -ge 1 ] && [ "${#compose_cmd[@]}" -le 3 ]; } || fail 2 "refusing COMPOSE_CMD"
  local word
  for word in "${compose_cmd[@]}"; do
    [[ "$word" =~ $WORD_PATTERN ]] || fail 2 "refusing COMPOSE_CMD word $(printf '%q' "$word")"
  done

  script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  health_check="$script_dir/health-check.sh"
  [ -f "$health_check" ] || fail 2 "missing $health_check next to ${LOG_NAME:-deploy}.sh"
  [[ "$health_url" =~ $URL_PATTERN ]] || fail 2 "refusing HEALTH_URL $(printf '%q' "$health_url")"
  { [[ "$health_tries" =~ ^[0-9]{1,4}$ ]] && [ "$health_tries" -ge 1 ]; } || fail 2 "refusing HEALTH_TRIES"
  [[ "$health_interval" =~ ^[0-9]{1,4}$ ]] || fail 2 "refusing HEALTH_INTERVAL"
  [[ "$health_status" =~ ^[1-5][0-9][0-9]$ ]] || fail 2 "refusing HEALTH_STATUS"

  [ -d "$deploy_path" ] || fail 2 "DEPLOY_PATH $deploy_path does not exist"
  [ -f "$deploy_path/$compose_file" ] || fail 2 "no compose file at $deploy_path/$compose_file"
  command -v docker >/dev/null 2>&1 || fail 2 "the docker CLI is required"
  command -v flock >/dev/null 2>&1 || fail 2 "flock (util-linux) is required"
  state_dir="$deploy_path/.deploy/$environment"
  if is_colour_strategy "$strategy"; then load_colour_settings; fi
}

# One deploy, rollback or canary step of an environment at a time.
take_lock() {
  mkdir -p -- "$state_dir"
  exec 9>"$state_dir/lock"
  flock -w "$lock_wait" 9 || fail 7 "another deploy of $environment is running (waited ${lock_wait}s)"
  cd -- "$deploy_path"
}

# compose <project> <image> <port or ""> <colour or ""> <compose args...>
compose() {
  APP_IMAGE="$2" APP_PORT="$3" APP_COLOR="$4" "${compose_cmd[@]}" -p "$1" -f "$compose_file" "${@:5}"
}

history() {
  printf '%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${DEPLOY_ACTION:-deploy}" "$1" "$2" \
    >>"$state_dir/history.log"
}

# First line of a state file when it is a digest (or empty).
read_image_file() {
  local value=""
  if [ -s "$1" ]; then value="$(head -n 1 -- "$1")"; fi
  if [[ "$value" =~ $IMAGE_PATTERN ]]; then printf '%s\n' "$value"; fi
}

# healthy <url> [tries] [interval]
healthy() {
  bash "$health_check" "$1" "${2:-$health_tries}" "${3:-$health_interval}" "$health_status"
}

# The blue-green and canary machinery (colours, nginx, error rates).
# shellcheck source-path=SCRIPTDIR
# shellcheck source=colors-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/colors-lib.sh"

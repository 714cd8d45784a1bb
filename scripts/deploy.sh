#!/usr/bin/env bash
# Deploys one image of the app with Docker Compose on this host, health-checks it, and puts the
# image that ran before back when the new one is not healthy.
#
# Usage: deploy.sh <environment> <image>
#   environment  ^[a-z][a-z0-9-]{0,31}$                 (e.g. staging, production)
#   image        registry/repository@sha256:<64 hex>    a digest, never a tag: a tag can be moved
#                                                        or planted, a digest names one image
#
# On a host this runs only through deploybot-ssh-gate (the deploy key's forced command), which
# passes the settings below from the host's gate.conf; the SSH client chooses none of them.
#
# Env (all optional):
#   DEPLOY_PATH      app directory holding the compose file (default /opt/app); state lives in
#                    $DEPLOY_PATH/.deploy/<environment>/ (current, previous, history.log)
#   COMPOSE_FILE     compose file, relative to DEPLOY_PATH (default docker-compose.yml)
#   COMPOSE_CMD      "docker compose" (default) or "docker-compose"
#   COMPOSE_PROJECT  compose project name (default app-<environment>)
#   HEALTH_URL       URL probed on this host (default http://127.0.0.1:8080/health)
#   HEALTH_TRIES     default 10;  HEALTH_INTERVAL  seconds, default 10;  HEALTH_STATUS  default 200
#   DEPLOY_LOCK_WAIT seconds to wait for another deploy of the same environment (default 120)
#   DEPLOY_IMAGE_REPOSITORY  when set, the only registry/repository images may come from
#
# The compose file takes the image from ${APP_IMAGE} (e.g. `image: ${APP_IMAGE}`).
#
# Exit codes (each one says what state the host is left in):
#   0  the new image runs and is healthy
#   2  bad arguments or configuration: nothing was changed
#   3  the new image failed (did not start or not healthy); the previous image was restored and is healthy
#   4  the new image failed and restoring the previous image failed too: the environment needs a human
#   5  the new image failed and there was no previous image to restore
#   6  the image could not be pulled: nothing was changed
#   7  another deploy of this environment holds the lock: nothing was changed
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

log() { printf 'deploy: %s\n' "$*"; }
fail() {
  local code="$1"
  shift
  printf 'deploy: %s\n' "$*" >&2
  exit "$code"
}
now_ms() { date +%s%3N; }

if [ "$#" -ne 2 ]; then
  fail 2 "usage: deploy.sh <environment> <image>"
fi
environment="$1"
image="$2"
[[ "$environment" =~ $ENVIRONMENT_PATTERN ]] ||
  fail 2 "refusing environment $(printf '%q' "$environment"): must match $ENVIRONMENT_PATTERN"
{ [ "${#image}" -le 255 ] && [[ "$image" =~ $IMAGE_PATTERN ]]; } ||
  fail 2 "refusing image $(printf '%q' "$image"): want registry/repository@sha256:<64 hex> (a digest, not a tag)"
allowed_repository="${DEPLOY_IMAGE_REPOSITORY:-}"
if [ -n "$allowed_repository" ]; then
  [[ "$allowed_repository" =~ $REPOSITORY_PATTERN ]] ||
    fail 2 "refusing DEPLOY_IMAGE_REPOSITORY $(printf '%q' "$allowed_repository")"
  [ "${image%@sha256:*}" = "$allowed_repository" ] ||
    fail 2 "refusing image $(printf '%q' "$image"): this host deploys only $allowed_repository"
fi

deploy_path="${DEPLOY_PATH:-/opt/app}"
compose_file="${COMPOSE_FILE:-docker-compose.yml}"
project="${COMPOSE_PROJECT:-app-$environment}"
health_url="${HEALTH_URL:-http://127.0.0.1:8080/health}"
health_tries="${HEALTH_TRIES:-10}"
health_interval="${HEALTH_INTERVAL:-10}"
health_status="${HEALTH_STATUS:-200}"
lock_wait="${DEPLOY_LOCK_WAIT:-120}"

{ [[ "$deploy_path" =~ $PATH_PATTERN ]] && [[ "/$deploy_path/" != */../* ]]; } ||
  fail 2 "refusing DEPLOY_PATH $(printf '%q' "$deploy_path"): want an absolute path without '..'"
{ [[ "$compose_file" =~ $WORD_PATTERN ]] && [[ "/$compose_file/" != */../* ]]; } ||
  fail 2 "refusing COMPOSE_FILE $(printf '%q' "$compose_file")"
[[ "$project" =~ ^[a-z0-9][a-z0-9_-]{0,62}$ ]] || fail 2 "refusing COMPOSE_PROJECT $(printf '%q' "$project")"
[[ "$lock_wait" =~ ^[0-9]{1,4}$ ]] || fail 2 "refusing DEPLOY_LOCK_WAIT $(printf '%q' "$lock_wait")"
# The compose command is split into words, never evaluated.
read -r -a compose_cmd <<<"${COMPOSE_CMD:-docker compose}"
{ [ "${#compose_cmd[@]}" -ge 1 ] && [ "${#compose_cmd[@]}" -le 3 ]; } || fail 2 "refusing COMPOSE_CMD"
for word in "${compose_cmd[@]}"; do
  [[ "$word" =~ $WORD_PATTERN ]] || fail 2 "refusing COMPOSE_CMD word $(printf '%q' "$word")"
done

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
health_check="$script_dir/health-check.sh"
[ -f "$health_check" ] || fail 2 "missing $health_check next to deploy.sh"
# Check the health settings now, so a bad value stops us before anything changes.
[[ "$health_url" =~ $URL_PATTERN ]] || fail 2 "refusing HEALTH_URL $(printf '%q' "$health_url")"
{ [[ "$health_tries" =~ ^[0-9]{1,4}$ ]] && [ "$health_tries" -ge 1 ]; } || fail 2 "refusing HEALTH_TRIES"
[[ "$health_interval" =~ ^[0-9]{1,4}$ ]] || fail 2 "refusing HEALTH_INTERVAL"
[[ "$health_status" =~ ^[1-5][0-9][0-9]$ ]] || fail 2 "refusing HEALTH_STATUS"

[ -d "$deploy_path" ] || fail 2 "DEPLOY_PATH $deploy_path does not exist"
[ -f "$deploy_path/$compose_file" ] || fail 2 "no compose file at $deploy_path/$compose_file"
command -v docker >/dev/null 2>&1 || fail 2 "the docker CLI is required"
command -v flock >/dev/null 2>&1 || fail 2 "flock (util-linux) is required"

state_dir="$deploy_path/.deploy/$environment"
mkdir -p -- "$state_dir"
exec 9>"$state_dir/lock"
flock -w "$lock_wait" 9 || fail 7 "another deploy of $environment is running (waited ${lock_wait}s)"

cd -- "$deploy_path"

compose() {
  APP_IMAGE="$1" "${compose_cmd[@]}" -p "$project" -f "$compose_file" "${@:2}"
}

history() {
  printf '%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${DEPLOY_ACTION:-deploy}" "$1" "$2" \
    >>"$state_dir/history.log"
}

# What runs now: the container compose started for this project, else what we recorded last time.
running_image() {
  local ids id found=""
  ids="$(compose "${1:-unused}" ps -q 2>/dev/null || true)"
  for id in $ids; do
    [[ "$id" =~ ^[0-9a-f]{12,64}$ ]] || continue
    found="$(docker inspect --format '{{.Config.Image}}' "$id" 2>/dev/null || true)"
    # An image started by id (sha256:...) names nothing deploy.sh could start again.
    [[ "$found" =~ $IMAGE_PATTERN ]] && break
    found=""
  done
  if [ -z "$found" ] && [ -s "$state_dir/current" ]; then
    found="$(head -n 1 "$state_dir/current")"
  fi
  if [ -n "$found" ] && [[ "$found" =~ $IMAGE_PATTERN ]]; then
    printf '%s\n' "$found"
  fi
}

start() {
  compose "$1" up -d --remove-orphans
}

healthy() {
  bash "$health_check" "$health_url" "$health_tries" "$health_interval" "$health_status"
}

current="$(running_image "$image")"
log "environment $environment, project $project, app dir $deploy_path"
log "running now: ${current:-nothing}"
log "deploying: $image"
before_previous="$(head -n 1 "$state_dir/previous" 2>/dev/null || true)"
previous="$before_previous"
if [ -n "$current" ] && [ "$current" != "$image" ]; then
  previous="$current"
fi
printf 'previous_image=%s\n' "$previous"

if ! docker pull "$image"; then
  history "$image" pull-failed
  fail 6 "could not pull $image; nothing was changed"
fi

# Record what ran before switching, so a failure below (or rollback.sh later) can go back to it.
# The image before that is kept too: when the new image fails, `previous` goes back to it, so
# rollback.sh after an automatic restore steps further back instead of onto the broken image.
printf '%s\n' "$previous" >"$state_dir/previous"

if start "$image" && healthy; then
  printf '%s\n' "$image" >"$state_dir/current"
  history "$image" deployed
  log "$image is healthy"
  printf 'result=deployed\n'
  exit 0
fi

log "unhealthy at $(now_ms) ms: $image failed its health check"
history "$image" unhealthy
if [ -z "$previous" ] || [ "$previous" = "$image" ]; then
  printf 'result=failed-no-previous\n'
  fail 5 "no previous image to restore for $environment"
fi

log "restoring previous image $previous"
if start "$previous" && healthy; then
  printf '%s\n' "$previous" >"$state_dir/current"
  printf '%s\n' "$before_previous" >"$state_dir/previous"
  history "$previous" restored
  log "restored at $(now_ms) ms: $previous is healthy again"
  printf 'result=rolled-back\n'
  exit 3
fi
history "$previous" restore-failed
printf 'result=rollback-failed\n'
fail 4 "restoring $previous failed too: $environment needs attention"

#!/usr/bin/env bash
# Deploys one image of the app with Docker Compose on this host and health-checks it.
#
# Usage: deploy.sh <environment> <image> [strategy]
#   environment  ^[a-z][a-z0-9-]{0,31}$                 (e.g. staging, production)
#   image        registry/repository@sha256:<64 hex>    a digest, never a tag: a tag can be moved
#                                                        or planted, a digest names one image
#   strategy     recreate (default) | blue-green | canary; it must suit the host (DEPLOY_STRATEGY)
#
# recreate (the default) replaces the app's container in place (requests fail while it restarts)
# and puts the image that ran before back when the new one is not healthy. blue-green and canary
# start the new image next to the live one, as the idle colour, and health-check it on its own
# port; blue-green then switches nginx to it, canary leaves it at 0 % for canary.sh to move
# (colors-lib.sh). They need a host set up for them: nginx in front, DEPLOY_STRATEGY blue-green or
# canary in its gate.conf. docs/zero-downtime.md.
#
# On a host this runs only through deploybot-ssh-gate (the deploy key's forced command), which
# passes the settings from the host's gate.conf; the SSH client chooses none of them.
# Env: see deploy-lib.sh (DEPLOY_PATH, COMPOSE_*, HEALTH_*, DEPLOY_LOCK_WAIT, DEPLOY_STRATEGY, ...).
# The compose file takes the image from ${APP_IMAGE} (e.g. `image: ${APP_IMAGE}`) and, on colour
# hosts, publishes the app on 127.0.0.1:${APP_PORT}.
#
# Exit codes (each one says what state the host is left in):
#   0  the new image runs and is healthy (canary: runs healthy at 0 %, ready for its steps)
#   2  bad arguments or configuration: nothing was changed
#   3  the new image failed (did not start or not healthy); the previous image serves and is healthy
#      (recreate: it was restored; blue-green, canary: it was never touched)
#   4  the new image failed and restoring the previous image failed too: the environment needs a human
#   5  the new image failed and there was no previous image to restore
#   6  the image could not be pulled: nothing was changed
#   7  another deploy of this environment holds the lock: nothing was changed
#   8  nginx refused the switch (nginx -t): the live colour still serves, the new one runs idle
set -euo pipefail
LOG_NAME=deploy
# shellcheck source-path=SCRIPTDIR
# shellcheck source=deploy-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/deploy-lib.sh"

if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
  fail 2 "usage: deploy.sh <environment> <image> [recreate|blue-green|canary]"
fi
environment="$1"
image="$2"
check_environment_arg "$environment"
check_image_arg "$image"
requested="${3:-recreate}"
host="$(host_strategy)"
check_strategy_arg "$requested" "$host"
load_settings "$environment"
take_lock

if is_colour_strategy "$requested"; then
  deploy_colours "$image" "$requested"
fi

start() { compose "$project" "$1" "" "" up -d --remove-orphans; }

# What runs now: the container compose started for this project, else what we recorded last time.
running_image() {
  local ids id found=""
  ids="$(compose "$project" "${1:-unused}" "" "" ps -q 2>/dev/null || true)"
  for id in $ids; do
    [[ "$id" =~ ^[0-9a-f]{12,64}$ ]] || continue
    found="$(docker inspect --format '{{.Config.Image}}' "$id" 2>/dev/null || true)"
    # An image started by id (sha256:...) names nothing deploy.sh could start again.
    [[ "$found" =~ $IMAGE_PATTERN ]] && break
    found=""
  done
  if [ -z "$found" ]; then found="$(read_image_file "$state_dir/current")"; fi
  if [ -n "$found" ] && [[ "$found" =~ $IMAGE_PATTERN ]]; then
    printf '%s\n' "$found"
  fi
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

log "replacing the container at $(now_ms) ms"
if start "$image" && healthy "$health_url"; then
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
if start "$previous" && healthy "$health_url"; then
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

#!/usr/bin/env bash
# Returns an environment to the image recorded as `previous`.
#
# Usage: rollback.sh <environment> [image]
#   With an image (what the pipeline sends after a failed health check or canary step), only that
#   deploy is undone: when the image does not run as the current one (it was already rolled back,
#   or it never took traffic), there is nothing to do and the exit code is 0.
#
# recreate: runs deploy.sh with `previous`: the same pull, health check and automatic restore as a
# deploy. blue-green and canary: a canary in flight goes back to 0 %; otherwise nginx switches back
# to the other colour, which still runs `previous` (warm: about a second), after starting it again
# when it does not (colors-lib.sh).
#
# Env:   the same as deploy.sh (DEPLOY_PATH, COMPOSE_CMD, HEALTH_URL, DEPLOY_STRATEGY, ...). On a
#        host it runs through deploybot-ssh-gate, which sets them from the host's gate.conf. The
#        recorded image must be a digest (a `previous` written by an older deploy.sh that deployed
#        tags cannot be rolled back to: deploy by digest).
# Exit:  deploy.sh's codes (0 rolled back and healthy, 3 the previous image failed and the one
#        running before serves, ...), and 5 when no previous image is recorded.
set -euo pipefail
LOG_NAME=rollback
# shellcheck source-path=SCRIPTDIR
# shellcheck source=deploy-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/deploy-lib.sh"

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
  printf 'usage: rollback.sh <environment> [image]\n' >&2
  exit 2
fi
environment="$1"
image="${2:-}"
check_environment_arg "$environment"
if [ -n "$image" ]; then check_image_arg "$image"; fi
deploy_path="${DEPLOY_PATH:-/opt/app}"
if ! [[ "$deploy_path" =~ $PATH_PATTERN ]] || [[ "/$deploy_path/" == */../* ]]; then
  fail 2 "refusing DEPLOY_PATH $(printf '%q' "$deploy_path")"
fi
export DEPLOY_ACTION=rollback
host="$(host_strategy)"

if is_colour_strategy "$host"; then
  load_settings "$environment"
  take_lock
  rollback_colours "$image"
fi

state_dir="$deploy_path/.deploy/$environment"
current="$(read_image_file "$state_dir/current")"
if [ -n "$image" ] && [ "$image" != "$current" ]; then
  printf 'rollback: nothing to undo: %s is not what %s runs (%s)\n' "$image" "$environment" "${current:-nothing}"
  printf 'result=not-serving\n'
  exit 0
fi
previous_file="$state_dir/previous"
previous="$(head -n 1 "$previous_file" 2>/dev/null || true)"
if [ -z "$previous" ]; then
  printf 'rollback: no previous image recorded for %s (%s)\n' "$environment" "$previous_file" >&2
  exit 5
fi
printf 'rollback: returning %s to %s\n' "$environment" "$previous"
# deploy.sh validates the image again and records what runs now as the new `previous`.
exec bash "$(dirname "${BASH_SOURCE[0]}")/deploy.sh" "$environment" "$previous" recreate

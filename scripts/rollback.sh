#!/usr/bin/env bash
# Returns an environment to the image recorded as `previous` by deploy.sh, with the same
# pull, health check and automatic restore as a deploy (it runs deploy.sh with that image).
#
# Usage: rollback.sh <environment>
# Env:   the same as deploy.sh (DEPLOY_PATH, COMPOSE_CMD, HEALTH_URL, DEPLOY_IMAGE_REPOSITORY, ...).
#        On a host it runs through deploybot-ssh-gate, which sets them from the host's gate.conf.
#        The recorded image must be a digest (deploy.sh refuses a tag with exit 2), so a `previous`
#        written by an older deploy.sh that deployed tags cannot be rolled back to: deploy by digest.
# Exit:  deploy.sh's codes (0 rolled back and healthy, 3 the previous image failed and the one
#        running before was restored, ...), and 5 when no previous image is recorded.
set -euo pipefail

readonly ENVIRONMENT_PATTERN='^[a-z][a-z0-9-]{0,31}$'
readonly PATH_PATTERN='^(/[A-Za-z0-9_][A-Za-z0-9._-]*)+/?$'

if [ "$#" -ne 1 ]; then
  printf 'usage: rollback.sh <environment>\n' >&2
  exit 2
fi
environment="$1"
if ! [[ "$environment" =~ $ENVIRONMENT_PATTERN ]]; then
  printf 'rollback: refusing environment %q: must match %s\n' "$environment" "$ENVIRONMENT_PATTERN" >&2
  exit 2
fi
deploy_path="${DEPLOY_PATH:-/opt/app}"
if ! [[ "$deploy_path" =~ $PATH_PATTERN ]] || [[ "/$deploy_path/" == */../* ]]; then
  printf 'rollback: refusing DEPLOY_PATH %q\n' "$deploy_path" >&2
  exit 2
fi

previous_file="$deploy_path/.deploy/$environment/previous"
previous="$(head -n 1 "$previous_file" 2>/dev/null || true)"
if [ -z "$previous" ]; then
  printf 'rollback: no previous image recorded for %s (%s)\n' "$environment" "$previous_file" >&2
  exit 5
fi
printf 'rollback: returning %s to %s\n' "$environment" "$previous"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# deploy.sh validates the image again and records what runs now as the new `previous`.
DEPLOY_ACTION=rollback exec bash "$script_dir/deploy.sh" "$environment" "$previous"

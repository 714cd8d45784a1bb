#!/usr/bin/env bash
# One step of a canary: gives the canary (started at 0 % by `deploy.sh … canary`) a share of the
# traffic, watches both versions' error rates in nginx's access log for CANARY_PAUSE seconds, and
# takes the canary back to 0 % as soon as its error rate exceeds the stable one's by more than
# CANARY_ERROR_MARGIN percentage points. At 100 % the canary becomes the live colour (the old one
# stays warm, as after a blue-green switch), and is judged against the stable version's rate over
# the whole canary: when worse, traffic goes back to the old colour.
#
# Usage: canary.sh <environment> <image> <weight>
#   image   the canary in flight (a step never moves another deploy's canary)
#   weight  1-100, the canary's percentage of requests
#
# Env: deploy.sh's and colors-lib.sh's (on a host: the gate passes the host's gate.conf). The host
# must be a colour host (DEPLOY_STRATEGY blue-green or canary).
# Prints weight=, canary_requests=, canary_errors=, stable_requests=, stable_errors= and result=
# (passed, promoted or aborted).
# Exit: 0 the step passed (at 100: promoted), 2 bad arguments or no such canary in flight,
#       3 aborted, or interrupted (the run cancelled, SSH gone): the canary is back at 0 % (at 100:
#       the old colour is live again),
#       4 nginx refused to take the canary out (needs a human), 7 locked, 8 nginx refused the step.
set -euo pipefail
LOG_NAME=canary
# shellcheck source-path=SCRIPTDIR
# shellcheck source=deploy-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/deploy-lib.sh"

[ "$#" -eq 3 ] || fail 2 "usage: canary.sh <environment> <image> <weight 1-100>"
environment="$1"
image="$2"
weight="$3"
check_environment_arg "$environment"
check_image_arg "$image"
[[ "$weight" =~ ^([1-9][0-9]?|100)$ ]] || fail 2 "refusing weight $(printf '%q' "$weight"): want 1-100"
host="$(host_strategy)"
is_colour_strategy "$host" || fail 2 "this host is set up for $host: a canary needs a blue-green or canary host"
load_settings "$environment"
take_lock
export DEPLOY_ACTION=canary
read_colour_state
printf 'weight=%s\n' "$weight"

if [ -z "$canary" ]; then
  if [ -n "$live" ] && [ "$(colour_image "$live")" = "$image" ]; then
    log "$image already takes all traffic on $live (no canary in flight): nothing to do"
    printf 'result=promoted\n'
    exit 0
  fi
  fail 2 "no canary of $image in flight on $environment (live: ${live:-none})"
fi
[ "$(colour_image "$canary")" = "$image" ] ||
  fail 2 "the canary in flight on $environment is $(colour_image "$canary"), not $image"
stable="$live"
stable_image="$(colour_image "$stable")"
started_at="$canary_offset"
step_offset="$(log_offset)"
[ -r "$nginx_access_log" ] || fail 2 "cannot read the edge's access log $nginx_access_log"

if [ "$weight" -lt 100 ]; then
  route "$stable" "$canary" "$weight" || fail 8 "nginx refused the step: the canary stays at $canary_weight %"
  write_canary "$canary" "$weight" "$started_at"
  log "$image on $canary gets $weight %, $stable_image on $stable $((100 - weight)) %; watching for ${canary_pause}s"
else
  route "$canary" || fail 8 "nginx refused the step: the canary stays at $canary_weight %"
  set_live "$canary"
  clear_canary
  history "$image" promoted
  log "$image on $canary takes all traffic; $stable_image stays warm on $stable; watching for ${canary_pause}s"
fi

# Reads the counts since the step began into the canary_*/stable_* globals. The stable version's
# rate is taken over the same window; at 100 % it gets no traffic, so over the whole canary.
judge() {
  local counts window
  read -r -a counts <<<"$(counts_since "$step_offset")"
  if [ "$canary" = blue ]; then window=(0 1 2 3); else window=(2 3 0 1); fi
  canary_requests="${counts[${window[0]}]}" canary_errors="${counts[${window[1]}]}"
  stable_requests="${counts[${window[2]}]}" stable_errors="${counts[${window[3]}]}"
  if [ "$stable_requests" -eq 0 ]; then
    read -r -a counts <<<"$(counts_since "$started_at")"
    stable_requests="${counts[${window[2]}]}" stable_errors="${counts[${window[3]}]}"
  fi
}
report() {
  log "$1: canary $canary_requests requests, $canary_errors errors ($(rate "$canary_requests" "$canary_errors")); stable $stable_requests requests, $stable_errors errors ($(rate "$stable_requests" "$stable_errors")); margin $canary_margin points"
}

abort() {
  trap '' HUP INT TERM PIPE
  report "aborting at $weight %"
  printf 'canary_requests=%s\ncanary_errors=%s\nstable_requests=%s\nstable_errors=%s\n' \
    "$canary_requests" "$canary_errors" "$stable_requests" "$stable_errors"
  route "$stable" || fail 4 "nginx refused to take the canary out: $environment needs attention"
  if [ "$weight" -lt 100 ]; then
    clear_canary
  else
    set_live "$stable"
  fi
  history "$image" "canary-aborted-at-$weight"
  log "aborted at $(now_ms) ms: $stable_image on $stable takes all traffic again"
  printf 'result=aborted\n'
  exit 3
}

# A step that is cut short (the run cancelled, the SSH connection gone: the next line written gets
# SIGPIPE) takes the canary out rather than leave it at its weight with nobody watching.
# shellcheck disable=SC2317 # run by the trap
interrupted() {
  trap '' HUP INT TERM PIPE
  exec >/dev/null 2>&1 || true
  route "$stable" || exit 4
  if [ "$weight" -lt 100 ]; then clear_canary; else set_live "$stable"; fi
  history "$image" "canary-interrupted-at-$weight"
  exit 3
}
trap interrupted HUP INT TERM PIPE

elapsed=0
every=5
while [ "$elapsed" -lt "$canary_pause" ]; do
  step=$((canary_pause - elapsed < every ? canary_pause - elapsed : every))
  sleep "$step"
  elapsed=$((elapsed + step))
  judge
  if [ "$canary_requests" -ge "$canary_min_requests" ] &&
    worse "$canary_requests" "$canary_errors" "$stable_requests" "$stable_errors"; then
    abort
  fi
  report "after ${elapsed}s"
done
judge
if worse "$canary_requests" "$canary_errors" "$stable_requests" "$stable_errors"; then abort; fi
trap - HUP INT TERM PIPE
if [ "$canary_requests" -eq 0 ]; then
  log "warning: no request reached the canary at $weight % in ${canary_pause}s: nothing to judge"
fi
report "passed at $weight %"
printf 'canary_requests=%s\ncanary_errors=%s\nstable_requests=%s\nstable_errors=%s\n' \
  "$canary_requests" "$canary_errors" "$stable_requests" "$stable_errors"
if [ "$weight" -eq 100 ]; then
  printf 'result=promoted\n'
else
  history "$image" "canary-at-$weight"
  printf 'result=passed\n'
fi
exit 0

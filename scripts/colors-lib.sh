#!/usr/bin/env bash
# Blue-green and canary on one host (sourced by deploy-lib.sh, never run).
#
# The app runs as two Compose projects, <project>-blue and <project>-green, each on its own port
# on 127.0.0.1 (the compose file publishes ${APP_PORT}). nginx on the host (the "edge") sends the
# traffic: its config includes NGINX_UPSTREAM, which only these scripts write. A switch writes that
# file next to the old one and renames it over (atomic), runs `nginx -t`, and only then
# `nginx -s reload`: nginx starts new workers with the new upstream and lets the old ones finish
# their requests, so no connection is dropped. When `nginx -t` refuses the file, the old one is put
# back and nothing is reloaded.
#
# State in $DEPLOY_PATH/.deploy/<environment>/ (besides deploy.sh's current, previous, history.log):
#   live    the colour nginx sends traffic to (blue | green)
#   blue    the image the blue colour runs; green  the same for green
#   canary  "<colour> <weight> <log offset>" while a canary is in flight: that colour gets <weight> %
#
# Env (from the host's gate.conf): BLUE_PORT (8081), GREEN_PORT (8082), NGINX_CONF
#   (/etc/deploybot/edge/nginx.conf), NGINX_UPSTREAM (/var/lib/deploybot/edge/upstream.conf),
#   NGINX_ACCESS_LOG (/var/log/deploybot/edge-access.log, in the edge's `deploybot` format:
#   $msec|$status|$upstream_addr|$upstream_status), CANARY_PAUSE (60 s per step),
#   CANARY_ERROR_MARGIN (1: percentage points the canary's error rate may exceed the stable one's),
#   CANARY_MIN_REQUESTS (20: requests the canary must have had before a step may end early).
# shellcheck disable=SC2154 # environment, project, state_dir, health_url, ...: set by load_settings
set -euo pipefail

load_colour_settings() {
  blue_port="${BLUE_PORT:-8081}"
  green_port="${GREEN_PORT:-8082}"
  nginx_conf="${NGINX_CONF:-/etc/deploybot/edge/nginx.conf}"
  nginx_upstream="${NGINX_UPSTREAM:-/var/lib/deploybot/edge/upstream.conf}"
  nginx_access_log="${NGINX_ACCESS_LOG:-/var/log/deploybot/edge-access.log}"
  canary_pause="${CANARY_PAUSE:-60}"
  canary_margin="${CANARY_ERROR_MARGIN:-1}"
  canary_min_requests="${CANARY_MIN_REQUESTS:-20}"
  local port file
  for port in "$blue_port" "$green_port"; do
    { [[ "$port" =~ ^[0-9]{4,5}$ ]] && [ "$port" -ge 1024 ] && [ "$port" -le 65535 ]; } ||
      fail 2 "refusing BLUE_PORT/GREEN_PORT $(printf '%q' "$port"): want 1024-65535"
  done
  [ "$blue_port" != "$green_port" ] || fail 2 "BLUE_PORT and GREEN_PORT must differ"
  for file in "$nginx_conf" "$nginx_upstream" "$nginx_access_log"; do
    { [[ "$file" =~ $PATH_PATTERN ]] && [[ "/$file/" != */../* ]]; } ||
      fail 2 "refusing nginx path $(printf '%q' "$file"): want an absolute path without '..'"
  done
  [[ "$canary_pause" =~ ^[0-9]{1,4}$ ]] || fail 2 "refusing CANARY_PAUSE $(printf '%q' "$canary_pause")"
  [[ "$canary_margin" =~ ^[0-9]{1,2}(\.[0-9]{1,2})?$|^100$ ]] ||
    fail 2 "refusing CANARY_ERROR_MARGIN $(printf '%q' "$canary_margin"): want percentage points, 0-100"
  [[ "$canary_min_requests" =~ ^[0-9]{1,6}$ ]] || fail 2 "refusing CANARY_MIN_REQUESTS"
  # The colours are probed on their own ports, at the path of HEALTH_URL (which goes through nginx).
  local rest="${health_url#*://}"
  health_path="/"
  if [[ "$rest" == */* ]]; then health_path="/${rest#*/}"; fi
  [ -f "$nginx_conf" ] || fail 2 "no nginx configuration at $nginx_conf (the edge in front of the colours)"
  command -v nginx >/dev/null 2>&1 || fail 2 "nginx is required for $strategy"
}

other_colour() { if [ "$1" = blue ]; then echo green; else echo blue; fi; }
colour_port() { if [ "$1" = blue ]; then echo "$blue_port"; else echo "$green_port"; fi; }
colour_url() { printf 'http://127.0.0.1:%s%s\n' "$(colour_port "$1")" "$health_path"; }
colour_image() { read_image_file "$state_dir/$1"; }

read_colour_state() {
  live="" canary="" canary_weight=0 canary_offset=0
  if [ -s "$state_dir/live" ]; then live="$(head -n 1 -- "$state_dir/live")"; fi
  [[ "$live" =~ ^(blue|green)$ ]] || live=""
  if [ -s "$state_dir/canary" ]; then read -r canary canary_weight canary_offset <"$state_dir/canary" || true; fi
  if ! [[ "$canary" =~ ^(blue|green)$ && "$canary_weight" =~ ^[0-9]{1,3}$ && "$canary_offset" =~ ^[0-9]{1,15}$ ]] ||
    [ "$canary" = "$live" ]; then
    canary="" canary_weight=0 canary_offset=0
  fi
}
write_canary() { printf '%s %s %s\n' "$1" "$2" "$3" >"$state_dir/canary"; }
clear_canary() { rm -f -- "$state_dir/canary"; }

# Makes $1 the live colour; `current` is its image and `previous` the one live before (or, on the
# first switch of a host that used recreate, what recreate ran), so rollback.sh knows both.
set_live() {
  local colour="$1" before
  before="$(if [ -n "$live" ]; then colour_image "$live"; else read_image_file "$state_dir/current"; fi)"
  printf '%s\n' "$colour" >"$state_dir/live"
  colour_image "$colour" >"$state_dir/current"
  if [ -n "$before" ] && [ "$before" != "$(colour_image "$colour")" ]; then
    printf '%s\n' "$before" >"$state_dir/previous"
  fi
  live="$colour"
}

# start_colour <colour> <image>: (re)creates that colour's project with the image on its port.
start_colour() {
  printf '%s\n' "$2" >"$state_dir/$1"
  compose "$project-$1" "$2" "$(colour_port "$1")" "$1" up -d --remove-orphans
}
stop_colour() {
  compose "$project-$1" "${2:-unused/unused:none}" "$(colour_port "$1")" "$1" down --timeout 10 || true
  rm -f -- "$state_dir/$1"
}

# route <main colour> [<canary colour> <canary weight 1-100>]: writes the upstream, checks it with
# `nginx -t` and reloads. Returns 1 (old upstream back, nothing reloaded) when nginx refuses it.
route() {
  local main="$1" other="${2:-}" weight="${3:-0}" tmp started
  started="$(now_ms)"
  tmp="$(mktemp "$nginx_upstream.XXXXXX")"
  {
    printf '# Written by deploybot for %s at %s: %s %s %%' "$environment" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
      "$main" "$((100 - weight))"
    if [ "$weight" -gt 0 ]; then printf ', %s %s %%' "$other" "$weight"; fi
    printf '.\n# max_fails=0: a failing server keeps its share, so its errors show in the access log\n'
    printf '# (nginx retries them on the other server: proxy_next_upstream in the edge config).\n'
    printf 'upstream deploybot_app {\n'
    if [ "$weight" -lt 100 ]; then
      printf '    server 127.0.0.1:%s weight=%s max_fails=0;\n' "$(colour_port "$main")" "$((100 - weight))"
    fi
    if [ "$weight" -gt 0 ]; then
      printf '    server 127.0.0.1:%s weight=%s max_fails=0;\n' "$(colour_port "$other")" "$weight"
    fi
    printf '    keepalive 16;\n}\n'
  } >"$tmp"
  chmod 644 -- "$tmp"
  if [ -f "$nginx_upstream" ]; then cp -p -- "$nginx_upstream" "$nginx_upstream.before"; fi
  mv -f -- "$tmp" "$nginx_upstream"
  if ! nginx -t -q -e stderr -c "$nginx_conf"; then
    if [ -f "$nginx_upstream.before" ]; then mv -f -- "$nginx_upstream.before" "$nginx_upstream"; fi
    log "nginx -t refused the new upstream; the old one is back and nothing was reloaded"
    return 1
  fi
  if ! nginx -e stderr -c "$nginx_conf" -s reload; then
    if [ -f "$nginx_upstream.before" ]; then mv -f -- "$nginx_upstream.before" "$nginx_upstream"; fi
    log "nginx -s reload failed; the old upstream is back in the file"
    return 1
  fi
  log "nginx: $main $((100 - weight)) %$([ "$weight" -gt 0 ] && printf ', %s %s %%' "$other" "$weight"), reloaded in $(($(now_ms) - started)) ms"
}

# Byte size of the access log now (where a step starts reading).
log_offset() { stat -c %s -- "$nginx_access_log" 2>/dev/null || echo 0; }

# counts_since <offset>: "blue_requests blue_errors green_requests green_errors" from the access log.
# Every attempt counts for the server that answered it (a retried request names both); an error is
# a 5xx from that server, or no answer at all (nginx logs 502 or 504 for it).
counts_since() {
  local offset="$1"
  [ "$(log_offset)" -ge "$offset" ] || offset=0 # rotated since
  tail -c "+$((offset + 1))" -- "$nginx_access_log" 2>/dev/null |
    awk -F'|' -v blue="127.0.0.1:$blue_port" -v green="127.0.0.1:$green_port" '
      NF >= 4 {
        n = split($3, addr, /, /); split($4, status, /, /)
        for (i = 1; i <= n; i++) {
          c = addr[i] == blue ? "blue" : addr[i] == green ? "green" : ""
          if (c == "") continue
          requests[c]++
          if (status[i] !~ /^[0-9]+$/ || status[i] >= 500) errors[c]++
        }
      }
      END { printf "%d %d %d %d\n", requests["blue"], errors["blue"], requests["green"], errors["green"] }'
}

# worse <canary requests> <canary errors> <stable requests> <stable errors>: true when the canary's
# error rate exceeds the stable one's by more than the margin (percentage points).
worse() {
  awk -v cr="$1" -v ce="$2" -v sr="$3" -v se="$4" -v m="$canary_margin" \
    'BEGIN { c = cr ? 100 * ce / cr : 0; s = sr ? 100 * se / sr : 0; exit !(cr > 0 && c - s > m) }'
}
rate() { awk -v r="$1" -v e="$2" 'BEGIN { printf "%.1f %%", r ? 100 * e / r : 0 }'; }

# deploy_colours <image> <blue-green|canary>: the new image starts on the idle colour and is
# health-checked on its own port. blue-green then switches nginx to it; canary leaves it at 0 % for
# canary.sh to move. The live colour is never touched before the new one is healthy.
deploy_colours() {
  local image="$1" mode="$2" idle old_live_image old_idle_image
  read_colour_state
  old_live_image="$(if [ -n "$live" ]; then colour_image "$live"; fi)"
  log "environment $environment, strategy $mode, live colour ${live:-none} (${old_live_image:-nothing})"
  log "deploying: $image"
  printf 'previous_image=%s\n' "$old_live_image"
  if [ -n "$canary" ]; then
    log "a canary of $(colour_image "$canary") is in flight at $canary_weight %: taking it out of service first"
    if [ "$canary_weight" -gt 0 ]; then route "$live" || fail 8 "nginx refused to take the canary out"; fi
    clear_canary
    history "$(colour_image "$canary")" canary-replaced
  fi
  idle="$(if [ -n "$live" ]; then other_colour "$live"; else echo blue; fi)"
  old_idle_image="$(colour_image "$idle")"
  if ! docker pull "$image"; then
    history "$image" pull-failed
    fail 6 "could not pull $image; nothing was changed"
  fi
  log "starting $image as $idle on port $(colour_port "$idle"); ${live:-no colour} keeps serving"
  if ! { start_colour "$idle" "$image" && healthy "$(colour_url "$idle")"; }; then
    log "unhealthy at $(now_ms) ms: $image failed its health check on $idle; no traffic reached it"
    history "$image" unhealthy
    if [ -n "$old_idle_image" ] && [ "$old_idle_image" != "$image" ]; then
      log "putting $old_idle_image back on $idle, warm for a rollback"
      if ! { start_colour "$idle" "$old_idle_image" && healthy "$(colour_url "$idle")" 3 1; }; then
        log "warning: $old_idle_image did not come back healthy on $idle; a rollback will start it again"
      fi
    else
      stop_colour "$idle" "$image"
    fi
    if [ -z "$live" ]; then
      printf 'result=failed-no-previous\n'
      fail 5 "no live colour to keep serving on $environment"
    fi
    printf 'result=kept-live\n'
    log "$old_live_image on $live served throughout"
    exit 3
  fi
  if [ "$mode" = canary ] && [ -n "$live" ]; then
    write_canary "$idle" 0 "$(log_offset)"
    history "$image" canary-ready
    log "$image is healthy on $idle and takes no traffic yet: the canary steps move it"
    printf 'result=canary-ready\n'
    exit 0
  fi
  log "switching at $(now_ms) ms: all traffic to $idle ($image)"
  route "$idle" || fail 8 "nginx refused the switch: ${live:-nothing} still serves, $image runs idle on $idle"
  set_live "$idle"
  log "switched at $(now_ms) ms"
  if [ -n "$old_live_image" ] && ! healthy "$health_url" 3 1; then
    log "the edge does not answer healthy after the switch: back to $(other_colour "$idle")"
    route "$(other_colour "$idle")" || fail 4 "nginx refused the switch back: $environment needs attention"
    set_live "$(other_colour "$idle")"
    history "$image" switched-back
    printf 'result=rolled-back\n'
    exit 3
  fi
  history "$image" deployed
  log "$image is healthy and live on $idle${old_live_image:+; $old_live_image stays warm on $(other_colour "$idle")}"
  printf 'result=deployed\n'
  exit 0
}

# rollback_colours [<image>]: with an image, undoes only that image (a canary in flight goes to 0 %,
# a live one is switched back; otherwise there is nothing to undo). Without, aborts a canary in
# flight or switches back to `previous` on the other colour (started first when it is not warm).
rollback_colours() {
  local image="${1:-}" target other current
  read_colour_state
  current="$(if [ -n "$live" ]; then colour_image "$live"; fi)"
  if [ -n "$canary" ] && { [ -z "$image" ] || [ "$image" = "$(colour_image "$canary")" ]; }; then
    printf 'previous_image=%s\n' "$(colour_image "$canary")"
    if [ "$canary_weight" -gt 0 ]; then route "$live" || fail 8 "nginx refused to take the canary out"; fi
    clear_canary
    history "$(colour_image "$canary")" canary-aborted
    log "canary of $(colour_image "$canary") aborted at $canary_weight %: $current on $live takes all traffic"
    printf 'result=canary-aborted\n'
    exit 0
  fi
  if [ -n "$image" ] && [ "$image" != "$current" ]; then
    log "nothing to undo: $image takes no traffic on $environment; ${current:-nothing} serves"
    printf 'result=not-serving\n'
    exit 0
  fi
  target="$(read_image_file "$state_dir/previous")"
  [ -n "$target" ] || fail 5 "no previous image recorded for $environment ($state_dir/previous)"
  check_image_arg "$target"
  other="$(if [ -n "$live" ]; then other_colour "$live"; else echo blue; fi)"
  log "returning $environment to $target on $other"
  printf 'previous_image=%s\n' "$current"
  if [ "$(colour_image "$other")" = "$target" ] && healthy "$(colour_url "$other")" 2 1; then
    log "$target is warm on $other"
  else
    log "$other does not run $target healthy: starting it"
    docker pull "$target" || fail 6 "could not pull $target; nothing was changed"
    if ! { start_colour "$other" "$target" && healthy "$(colour_url "$other")"; }; then
      history "$target" unhealthy
      printf 'result=kept-live\n'
      fail 3 "$target is not healthy on $other: ${current:-nothing} keeps serving"
    fi
  fi
  log "switching at $(now_ms) ms: all traffic to $other ($target)"
  route "$other" || fail 8 "nginx refused the switch: ${current:-nothing} still serves"
  set_live "$other"
  log "switched at $(now_ms) ms"
  history "$target" deployed
  printf 'result=deployed\n'
  exit 0
}

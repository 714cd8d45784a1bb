#!/usr/bin/env bash
# Polls a URL until it answers with the expected HTTP status, a bounded number of times.
#
# Usage: health-check.sh <url> [tries=10] [interval_seconds=10] [expected_status=200]
# Env:   HEALTH_TIMEOUT  seconds one attempt may take (default 5)
# Exit:  0 healthy, 1 not healthy after every try, 2 bad arguments.
set -euo pipefail

usage() {
  printf 'usage: health-check.sh <url> [tries] [interval_seconds] [expected_status]\n' >&2
  exit 2
}

if [ "$#" -lt 1 ] || [ "$#" -gt 4 ]; then
  usage
fi
url="$1"
tries="${2:-10}"
interval="${3:-10}"
expected="${4:-200}"
timeout="${HEALTH_TIMEOUT:-5}"

# Only http(s) URLs without whitespace or quotes: the URL ends up in logs and job summaries.
url_pattern='^https?://[][A-Za-z0-9._~:/?#@!&+,;=%-]+$'
if ! [[ "$url" =~ $url_pattern ]]; then
  printf 'health-check: refusing URL %q (http:// or https:// only, no spaces or quotes)\n' "$url" >&2
  exit 2
fi
for pair in "tries:$tries" "interval:$interval" "HEALTH_TIMEOUT:$timeout"; do
  if ! [[ "${pair#*:}" =~ ^[0-9]{1,4}$ ]]; then
    printf 'health-check: %s must be a whole number of at most 4 digits, got %q\n' "${pair%%:*}" "${pair#*:}" >&2
    exit 2
  fi
done
if [ "$tries" -lt 1 ]; then
  printf 'health-check: tries must be at least 1\n' >&2
  exit 2
fi
if ! [[ "$expected" =~ ^[1-5][0-9][0-9]$ ]]; then
  printf 'health-check: expected status must be an HTTP status code, got %q\n' "$expected" >&2
  exit 2
fi
if ! command -v curl >/dev/null 2>&1; then
  printf 'health-check: curl is required\n' >&2
  exit 2
fi

attempt=1
while [ "$attempt" -le "$tries" ]; do
  # curl prints 000 when nothing answers; its own exit status is not the verdict.
  status="$(curl --silent --output /dev/null --write-out '%{http_code}' --proto '=http,https' --globoff \
    --max-time "$timeout" -- "$url" 2>/dev/null || true)"
  [ -n "$status" ] || status=000
  if [ "$status" = "$expected" ]; then
    printf 'health-check: attempt %d/%d: HTTP %s from %s: healthy\n' "$attempt" "$tries" "$status" "$url"
    exit 0
  fi
  printf 'health-check: attempt %d/%d: HTTP %s from %s (want %s)\n' "$attempt" "$tries" "$status" "$url" "$expected"
  if [ "$attempt" -lt "$tries" ]; then
    sleep "$interval"
  fi
  attempt=$((attempt + 1))
done
printf 'health-check: %s did not answer %s after %d tries\n' "$url" "$expected" "$tries" >&2
exit 1

#!/usr/bin/env bash
# Writes deployed-image.txt (environment=, sha=, image= lines) for the deployed-image artifact.
# Env: ENVIRONMENT, SHA, IMAGE (validated: nothing else can end up in the record), RUNNER_TEMP.
# Writes file (the record's path) to $GITHUB_OUTPUT.
set -euo pipefail

readonly IMAGE_PATTERN='^[A-Za-z0-9]+([.-][A-Za-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+@sha256:[a-f0-9]{64}$'
[[ "${ENVIRONMENT:-}" =~ ^[a-z][a-z0-9-]{0,31}$ ]] || { echo "::error::bad environment" && exit 2; }
[[ "${SHA:-}" =~ ^[0-9a-f]{40}$ ]] || { echo "::error::bad sha" && exit 2; }
[[ "${IMAGE:-}" =~ $IMAGE_PATTERN ]] || { echo "::error::the image is not a digest reference" && exit 2; }
dir="$(mktemp -d "${RUNNER_TEMP:-/tmp}/deployed-image.XXXXXX")"
file="$dir/deployed-image.txt"
printf 'environment=%s\nsha=%s\nimage=%s\n' "$ENVIRONMENT" "$SHA" "$IMAGE" >"$file"
printf 'recorded: %s ran %s for %s\n' "$ENVIRONMENT" "$IMAGE" "$SHA"
printf 'file=%s\n' "$file" >>"${GITHUB_OUTPUT:-/dev/null}"

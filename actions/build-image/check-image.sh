#!/usr/bin/env bash
# Decides whether build-image has anything to do: the tag for this commit is built once, ever.
# Env: REPOSITORY, TAG, CONTEXT, DOCKERFILE. Writes image, built, dockerfile to $GITHUB_OUTPUT.
set -euo pipefail

repository_pattern='^[A-Za-z0-9]+([.-][A-Za-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+$'
if ! [[ "${REPOSITORY:-}" =~ $repository_pattern ]]; then
  printf '::error::build-image: repository %q is not an image repository reference\n' "${REPOSITORY:-}"
  exit 2
fi
if ! [[ "${TAG:-}" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; then
  printf '::error::build-image: tag %q is not a valid image tag\n' "${TAG:-}"
  exit 2
fi
image="$REPOSITORY:$TAG"
dockerfile="${DOCKERFILE:-${CONTEXT:-.}/Dockerfile}"
out="${GITHUB_OUTPUT:-/dev/stdout}"

# Only "manifest unknown" means "not there yet"; any other failure (auth, network) stops the job
# rather than rebuilding an image that may already run somewhere.
if result="$(docker manifest inspect "$image" 2>&1)"; then
  printf 'build-image: %s is already in the registry: nothing to build\n' "$image"
  built=false
elif grep -qiE 'manifest unknown|no such manifest|not found' <<<"$result"; then
  printf 'build-image: %s is not in the registry yet: building it\n' "$image"
  built=true
else
  printf '::error::build-image: could not ask the registry about %s: %s\n' "$image" "$result"
  exit 1
fi
{
  printf 'image=%s\n' "$image"
  printf 'built=%s\n' "$built"
  printf 'dockerfile=%s\n' "$dockerfile"
} >>"$out"

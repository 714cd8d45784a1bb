#!/usr/bin/env bash
# Checks that the tag for this commit is not in the registry yet: it is built once, ever.
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

# Only "manifest unknown" means "not there yet". Any other failure (auth, network) stops the job
# rather than rebuilding an image that may already run somewhere. Resolve found no image for this
# commit: one that appeared since was pushed by another run, which also attested it, so this run
# stops and asks to be run again (it will then deploy that image, by digest) instead of building.
if result="$(docker manifest inspect "$image" 2>&1)"; then
  printf '::error::build-image: %s was pushed since this run looked for it (by another run): run the deploy again to deploy that image\n' "$image"
  exit 1
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

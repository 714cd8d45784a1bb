#!/usr/bin/env bash
# Refuses an image that was not built by this repository's deploy.yml on the default branch.
#
# The image must be a digest (registry/repository@sha256:<64 hex>) with a build provenance
# attestation (actions/attest-build-provenance in the Build image job) whose Sigstore certificate
# names exactly https://github.com/<repository>/.github/workflows/deploy.yml@refs/heads/<default>
# and a GitHub-hosted runner. A tag, an image pushed by anything else (another branch's workflow,
# a stolen registry credential) or one built before attestations has none: the run stops before
# any host is touched.
#
# Env: IMAGE, DEFAULT_BRANCH, GITHUB_REPOSITORY, GITHUB_SERVER_URL (https://github.com), GH_TOKEN,
#      VERIFY_TRIES (3) and VERIFY_INTERVAL (5 s): the attestation API may lag a fresh build.
# Exit: 0 verified (writes image to $GITHUB_OUTPUT), 1 not verified, 2 bad input.
set -euo pipefail

readonly IMAGE_PATTERN='^[A-Za-z0-9]+([.-][A-Za-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+@sha256:[a-f0-9]{64}$'
image="${IMAGE:-}"
repository="${GITHUB_REPOSITORY:-}"
branch="${DEFAULT_BRANCH:-}"
tries="${VERIFY_TRIES:-3}"
interval="${VERIFY_INTERVAL:-5}"

bad() {
  printf '::error title=Image not verified::%s\n' "$*"
  exit 2
}
[[ "$image" =~ $IMAGE_PATTERN ]] ||
  bad "$(printf '%q' "$image") is not registry/repository@sha256:<64 hex>: images are deployed by digest only"
[[ "$repository" =~ ^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$ ]] || bad "GITHUB_REPOSITORY is not owner/name"
[[ "$branch" =~ ^[A-Za-z0-9._/-]{1,200}$ ]] || bad "bad default branch $(printf '%q' "$branch")"
{ [[ "$tries" =~ ^[1-9]$ ]] && [[ "$interval" =~ ^[0-9]{1,3}$ ]]; } || bad "bad VERIFY_TRIES or VERIFY_INTERVAL"
command -v gh >/dev/null 2>&1 || bad "the GitHub CLI (gh) is needed to verify attestations"

signer="${GITHUB_SERVER_URL:-https://github.com}/$repository/.github/workflows/deploy.yml@refs/heads/$branch"
output=""
for ((attempt = 1; attempt <= tries; attempt++)); do
  if output="$(gh attestation verify "oci://$image" --repo "$repository" --cert-identity "$signer" \
    --deny-self-hosted-runners --format json 2>&1)"; then
    printf 'verified: %s was built by %s\n' "$image" "$signer"
    printf 'image=%s\n' "$image" >>"${GITHUB_OUTPUT:-/dev/null}"
    exit 0
  fi
  printf 'attempt %s/%s: no valid attestation yet\n' "$attempt" "$tries"
  if [ "$attempt" -lt "$tries" ]; then sleep "$interval"; fi
done
printf '%s\n' "$output" | tail -n 20
printf '::error title=No valid attestation::%s has no build provenance attestation signed by %s: it was not built by deploy.yml on %s of this repository, so it is not deployed.\n' \
  "$image" "$signer" "$branch"
exit 1

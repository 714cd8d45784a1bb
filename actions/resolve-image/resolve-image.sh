#!/usr/bin/env bash
# Decides which image a run deploys, by digest, and whether it must be built first.
#
#   rollback                        the image ECR holds for <sha>; never built
#   deploy to a build environment   the image ECR holds for <sha>, or build=true when there is none
#     (BUILD_ENVIRONMENTS, default "staging": a setting, not a name this script knows)
#   deploy to any other environment promotion: the digest PROMOTE_FROM (default "staging") ran for
#                                   <sha>, read from the record its successful run of deploy.yml on
#                                   the default branch uploaded, and it must be ECR's image for <sha>
#
# A tag only finds a digest here; what is deployed is the digest, and it is verified against its
# build provenance attestation before any host is touched (actions/verify-image).
#
# Env: ENVIRONMENT, SHA, ACTION, ECR_REPOSITORY, AWS_REGION, BUILD_ENVIRONMENTS, PROMOTE_FROM,
#      DEFAULT_BRANCH, GITHUB_REPOSITORY, GH_TOKEN (actions: read), RUNNER_TEMP.
# Writes repository, image (empty when build=true) and build to $GITHUB_OUTPUT.
set -euo pipefail

readonly ENVIRONMENT_PATTERN='^[a-z][a-z0-9-]{0,31}$'
readonly DIGEST_PATTERN='^sha256:[a-f0-9]{64}$'
readonly WORKFLOW_PATH=.github/workflows/deploy.yml
readonly RECORD=deployed-image

fail() {
  printf '::error title=%s::%s\n' "$1" "$2"
  exit 1
}

[[ "${ENVIRONMENT:-}" =~ $ENVIRONMENT_PATTERN ]] || fail "Bad input" "environment $(printf '%q' "${ENVIRONMENT:-}")"
[[ "${SHA:-}" =~ ^[0-9a-f]{40}$ ]] || fail "Bad input" "sha $(printf '%q' "${SHA:-}")"
case "${ACTION:-}" in
deploy | rollback) ;;
*) fail "Bad input" "action $(printf '%q' "${ACTION:-}")" ;;
esac
[[ "${ECR_REPOSITORY:-}" =~ ^[a-z0-9]+([._/-][a-z0-9]+)*$ ]] ||
  fail "Not set up" "the repository variable ECR_REPOSITORY is not an ECR repository name"
[[ "${DEFAULT_BRANCH:-}" =~ ^[A-Za-z0-9._/-]{1,200}$ ]] || fail "Bad input" "default branch"
listed="${BUILD_ENVIRONMENTS:-}"
read -r -a builders <<<"${listed//,/ }"
[ "${#builders[@]}" -gt 0 ] || builders=(staging)
for name in "${builders[@]}"; do
  [[ "$name" =~ $ENVIRONMENT_PATTERN ]] ||
    fail "Not set up" "BUILD_ENVIRONMENTS must list environment names, got $(printf '%q' "$name")"
done
promote_from="${PROMOTE_FROM:-staging}"
[[ "$promote_from" =~ $ENVIRONMENT_PATTERN ]] || fail "Not set up" "PROMOTE_FROM is not an environment name"

# The registry is the role's own account (no ecr:DescribeRepositories needed).
account="$(aws sts get-caller-identity --query Account --output text)"
if ! [[ "$account" =~ ^[0-9]{12}$ ]] || [ -z "${AWS_REGION:-}" ]; then
  fail "AWS" "could not tell the AWS account ($account) or region (${AWS_REGION:-unset})"
fi
repository="$account.dkr.ecr.$AWS_REGION.amazonaws.com/$ECR_REPOSITORY"

# ECR's image for <sha> (tags are immutable and only the build job pushes them): sets `tagged`
# to its digest, or to nothing when there is none. Any other ECR error stops the run, so an
# image is never rebuilt because the registry could not be read.
tagged=""
lookup_tag() {
  local found
  if found="$(aws ecr describe-images --repository-name "$ECR_REPOSITORY" --image-ids "imageTag=$SHA" \
    --query 'imageDetails[0].imageDigest' --output text 2>&1)"; then
    [[ "$found" =~ $DIGEST_PATTERN ]] || fail "ECR lookup failed" "unexpected answer for $SHA: $found"
    tagged="$found"
  elif ! grep -q ImageNotFoundException <<<"$found"; then
    fail "ECR lookup failed" "$found"
  fi
}

# The digest `promote_from` ran for <sha>: the record uploaded by the newest successful run of
# deploy.yml on the default branch titled "Deploy|Rollback <promote_from> <sha> [...]". Runs of
# other branches (whose workflow file anyone with write access can change) are not looked at.
recorded=""
recorded_run=""
lookup_record() {
  local runs id path branch title dir key value environment sha image
  runs="$(gh api -X GET "repos/$GITHUB_REPOSITORY/actions/workflows/deploy.yml/runs" \
    -f branch="$DEFAULT_BRANCH" -f status=success -f per_page=100 \
    --jq '.workflow_runs[] | [.id, .path, .head_branch, .display_title] | @tsv')" ||
    fail "GitHub API" "could not list the runs of deploy.yml: $runs"
  while IFS=$'\t' read -r id path branch title; do
    if ! [[ "$id" =~ ^[0-9]+$ ]] || [ "$path" != "$WORKFLOW_PATH" ] || [ "$branch" != "$DEFAULT_BRANCH" ]; then
      continue
    fi
    case "$title" in
    "Deploy $promote_from $SHA ["* | "Rollback $promote_from $SHA ["*) ;;
    *) continue ;;
    esac
    dir="$(mktemp -d "${RUNNER_TEMP:-/tmp}/record.XXXXXX")"
    if gh run download "$id" --repo "$GITHUB_REPOSITORY" --name "$RECORD" --dir "$dir" >/dev/null 2>&1 &&
      [ -f "$dir/$RECORD.txt" ]; then
      environment="" sha="" image=""
      while IFS='=' read -r key value; do
        case "$key" in
        environment) environment="$value" ;;
        sha) sha="$value" ;;
        image) image="$value" ;;
        esac
      done <"$dir/$RECORD.txt"
      if [ "$environment" = "$promote_from" ] && [ "$sha" = "$SHA" ] &&
        [[ "${image#"$repository@"}" =~ $DIGEST_PATTERN ]] && [ "${image%@*}" = "$repository" ]; then
        recorded="${image#"$repository@"}" recorded_run="$id"
        return 0
      fi
      echo "::warning title=Record ignored::run $id's record does not name $promote_from, $SHA and an image of $repository"
    fi
  done <<<"$runs"
}

may_build=false
for name in "${builders[@]}"; do
  if [ "$name" = "$ENVIRONMENT" ]; then may_build=true; fi
done

build=false
image=""
lookup_tag
if [ "$ACTION" = rollback ]; then
  [ -n "$tagged" ] || fail "No image" "$repository has no image for $SHA. A rollback deploys an image that was built and ran before; it never builds."
  image="$repository@$tagged"
  echo "rollback: $image is the image of $SHA"
elif [ "$may_build" = true ]; then
  if [ -n "$tagged" ]; then
    image="$repository@$tagged"
    echo "$image is the image of $SHA: it is deployed as it is, nothing is built"
  else
    build=true
    echo "$repository has no image for $SHA yet: it will be built once ($ENVIRONMENT is in BUILD_ENVIRONMENTS)"
  fi
else
  lookup_record
  [ -n "$recorded" ] || fail "Not on $promote_from" "$ENVIRONMENT deploys only the image $promote_from ran, and no successful run of deploy.yml deployed $SHA to $promote_from (among the last 100 successful runs, with its record). Deploy $SHA to $promote_from first."
  [ "$tagged" = "$recorded" ] || fail "Image mismatch" "$promote_from ran $repository@$recorded for $SHA (run $recorded_run), but ECR's image for $SHA is ${tagged:-missing}: refusing to deploy either."
  image="$repository@$recorded"
  echo "promoting $image: what $promote_from ran for $SHA (run $recorded_run)"
fi

{
  printf 'repository=%s\n' "$repository"
  printf 'image=%s\n' "$image"
  printf 'build=%s\n' "$build"
} >>"${GITHUB_OUTPUT:-/dev/stdout}"

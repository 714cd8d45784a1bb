#!/usr/bin/env bash
# The deploy job's "Check the environment settings": fails before anything changes when the
# environment is not set up for its target, or when a deploy key is readable where it must not be.
#
# Each environment has its own key, <ENVIRONMENT>_SSH_KEY (STAGING_SSH_KEY, PRODUCTION_SSH_KEY),
# as a secret of that environment only. A job sees repository and organization secrets too, so:
#   - the old shared DEPLOY_SSH_KEY must be gone (one key for every host, readable from any branch);
#   - STAGING_SSH_KEY and PRODUCTION_SSH_KEY must not be visible in another environment's job,
#     which is what a repository-level secret of that name would be.
#
# Env: ENVIRONMENT, SSH_KEY_SECRET, DEPLOY_TARGET, DEPLOY_HOST, HEALTH_URL, IMAGE, and the
#      booleans HAS_SSH_KEY, HAS_STAGING_KEY, HAS_PRODUCTION_KEY, HAS_SHARED_KEY, HAS_KNOWN_HOSTS,
#      HAS_KUBECONFIG; K8S_NAMESPACE, K8S_DEPLOYMENT, K8S_CONTAINER; from the job: DEPLOY_STRATEGY
#      (recreate, blue-green, canary) and CANARY_STEPS (a JSON array of 1 to 4 rising weights,
#      each 1-100, the last 100; the workflow names one step after each).
set -euo pipefail

readonly IMAGE_PATTERN='^[A-Za-z0-9]+([.-][A-Za-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+@sha256:[a-f0-9]{64}$'
problems=()
[[ "${IMAGE:-}" =~ $IMAGE_PATTERN ]] || problems+=("a verified image by digest (got '${IMAGE:-}')")
[ -n "${HEALTH_URL:-}" ] || problems+=("variable HEALTH_URL")
target="${DEPLOY_TARGET:-compose}"
strategy="${DEPLOY_STRATEGY:-recreate}"
steps=""
case "$strategy" in
recreate | blue-green) ;;
canary)
  # The canary's steps on Compose (an Argo Rollout on Kubernetes has its own).
  [ "$target" = compose ] || steps="[100]"
  steps="${steps:-${CANARY_STEPS:-[5, 25, 50, 100]}}"
  if [[ "$steps" =~ ^\[\ *([0-9]{1,3}(\ *,\ *[0-9]{1,3}){0,3})\ *\]$ ]]; then
    IFS=',' read -r -a weights <<<"${BASH_REMATCH[1]// /}"
    before=0
    for weight in "${weights[@]}"; do
      if [ "$((10#$weight))" -le "$before" ] || [ "$((10#$weight))" -gt 100 ]; then before=-1 && break; fi
      before="$((10#$weight))"
    done
    [ "$before" -eq 100 ] || problems+=("variable CANARY_STEPS with rising weights of 1-100 that end at 100 (it is '$steps')")
  else
    problems+=("variable CANARY_STEPS as a JSON array of 1 to 4 weights, e.g. [5, 25, 50, 100] (it is '$steps')")
  fi
  ;;
*) problems+=("DEPLOY_STRATEGY recreate, blue-green or canary (it is '$strategy')") ;;
esac
case "$target" in
compose)
  [ -n "${DEPLOY_HOST:-}" ] || problems+=("variable DEPLOY_HOST")
  [ "${HAS_SSH_KEY:-}" = true ] || problems+=("secret ${SSH_KEY_SECRET:-<ENVIRONMENT>_SSH_KEY} of the ${ENVIRONMENT:-} environment")
  [ "${HAS_KNOWN_HOSTS:-}" = true ] || problems+=("secret DEPLOY_SSH_KNOWN_HOSTS")
  if [ "${HAS_SHARED_KEY:-}" = true ]; then
    problems+=("no secret DEPLOY_SSH_KEY: one key shared by every host is not used any more; delete it (repository, organization and environment secrets) and remove its public key from the hosts")
  fi
  for pair in "STAGING_SSH_KEY:${HAS_STAGING_KEY:-}" "PRODUCTION_SSH_KEY:${HAS_PRODUCTION_KEY:-}"; do
    name="${pair%%:*}"
    owner="${name%_SSH_KEY}"
    if [ "${pair#*:}" = true ] && [ "$name" != "${SSH_KEY_SECRET:-}" ]; then
      problems+=("$name only in its own environment: the ${ENVIRONMENT:-} job can read it, so it is a repository or organization secret (or set on this environment); move it to the ${owner,,} environment")
    fi
  done
  ;;
k8s)
  [ "${HAS_KUBECONFIG:-}" = true ] || problems+=("secret KUBECONFIG")
  [ -n "${K8S_NAMESPACE:-}" ] || problems+=("variable K8S_NAMESPACE")
  [ -n "${K8S_DEPLOYMENT:-}" ] || problems+=("variable K8S_DEPLOYMENT")
  [ -n "${K8S_CONTAINER:-}" ] || problems+=("variable K8S_CONTAINER")
  ;;
*)
  problems+=("DEPLOY_TARGET compose or k8s (it is '$target')")
  ;;
esac
if [ "${#problems[@]}" -gt 0 ]; then
  for item in "${problems[@]}"; do
    echo "::error title=Environment not set up::needs $item"
  done
  exit 1
fi
echo "deploy target: $target, strategy: $strategy, image: $IMAGE"

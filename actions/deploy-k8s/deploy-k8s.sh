#!/usr/bin/env bash
# Deploys an image to a Kubernetes Deployment and undoes the rollout when it does not complete.
#
# Env: K8S_COMMAND (deploy | undo), DEPLOY_IMAGE (registry/repository@sha256:<64 hex>: a digest,
#      never a tag, as on the compose hosts), K8S_NAMESPACE, K8S_DEPLOYMENT, K8S_CONTAINER,
#      KUBECONFIG_CONTENT (kubeconfig file contents), ROLLOUT_TIMEOUT (default 5m).
# Exit: 0 done, 2 bad input, 3 rollout failed and was undone, 4 the undo failed too.
# Writes previous_image, result and exit_code to $GITHUB_OUTPUT when that is set.
set -euo pipefail

name_pattern='^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
image_pattern='^[A-Za-z0-9]+([.-][A-Za-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+@sha256:[a-f0-9]{64}$'
command="${K8S_COMMAND:-deploy}"
namespace="${K8S_NAMESPACE:-}"
deployment="${K8S_DEPLOYMENT:-}"
container="${K8S_CONTAINER:-}"
image="${DEPLOY_IMAGE:-}"
timeout="${ROLLOUT_TIMEOUT:-5m}"
previous=""

finish() {
  local code="$1" result="$2"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf 'previous_image=%s\nresult=%s\nexit_code=%s\n' "$previous" "$result" "$code" >>"$GITHUB_OUTPUT"
  fi
  exit "$code"
}
refuse() {
  printf 'deploy-k8s: %s\n' "$*" >&2
  finish 2 error
}

for pair in "K8S_NAMESPACE:$namespace" "K8S_DEPLOYMENT:$deployment" "K8S_CONTAINER:$container"; do
  [[ "${pair#*:}" =~ $name_pattern ]] || refuse "${pair%%:*} is not a Kubernetes name: $(printf '%q' "${pair#*:}")"
done
[[ "$timeout" =~ ^[0-9]{1,4}[smh]$ ]] || refuse "ROLLOUT_TIMEOUT must look like 300s or 5m, got $(printf '%q' "$timeout")"
case "$command" in
deploy) [[ "$image" =~ $image_pattern ]] || refuse "refusing image $(printf '%q' "$image"): want repository@sha256:<64 hex>, never a tag" ;;
undo) ;;
*) refuse "K8S_COMMAND must be deploy or undo, got $(printf '%q' "$command")" ;;
esac
[ -n "${KUBECONFIG_CONTENT:-}" ] || refuse "the KUBECONFIG secret is empty"
command -v kubectl >/dev/null 2>&1 || refuse "kubectl is not installed"

work="$(mktemp -d "${RUNNER_TEMP:-/tmp}/deploy-k8s.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT
(
  umask 077
  printf '%s\n' "$KUBECONFIG_CONTENT" >"$work/kubeconfig"
)
export KUBECONFIG="$work/kubeconfig"
k() { kubectl --namespace "$namespace" "$@"; }

previous="$(k get deployment "$deployment" \
  -o "jsonpath={.spec.template.spec.containers[?(@.name==\"$container\")].image}")"
printf 'deploy-k8s: %s/%s container %s runs %s\n' "$namespace" "$deployment" "$container" "${previous:-nothing}"

undo() {
  printf 'deploy-k8s: rolling back %s/%s to its previous revision\n' "$namespace" "$deployment"
  k rollout undo "deployment/$deployment" && k rollout status "deployment/$deployment" --timeout "$timeout"
}

if [ "$command" = undo ]; then
  if undo; then finish 0 rolled-back; fi
  finish 4 rollback-failed
fi

printf 'deploy-k8s: setting %s to %s\n' "$container" "$image"
if k set image "deployment/$deployment" "$container=$image" &&
  k rollout status "deployment/$deployment" --timeout "$timeout"; then
  finish 0 deployed
fi
printf 'deploy-k8s: the rollout of %s did not complete within %s\n' "$image" "$timeout" >&2
if undo; then
  finish 3 rolled-back
fi
finish 4 rollback-failed

#!/usr/bin/env bash
# Deploys an image to a Kubernetes Deployment, or to an Argo Rollouts Rollout, and takes the
# rollout back when it does not complete.
#
# Env: K8S_COMMAND (deploy | undo), K8S_KIND (deployment, the default, or rollout), DEPLOY_IMAGE
#      (registry/repository@sha256:<64 hex>: a digest, never a tag, as on the compose hosts),
#      K8S_NAMESPACE, K8S_DEPLOYMENT (the workload's name), K8S_CONTAINER, KUBECONFIG_CONTENT
#      (kubeconfig file contents), ROLLOUT_TIMEOUT (default 5m), K8S_POLL_INTERVAL (seconds between
#      looks at a Rollout without the plugin, default 5).
#
# deployment: kubectl set image, rollout status with the timeout, rollout undo when it fails.
# rollout:    the Rollout's own strategy (canary steps, blue-green; examples/argo-rollouts/) runs.
#   With the kubectl-argo-rollouts plugin: `argo rollouts set image`, `status --timeout`, and on
#   failure `abort` and the previous image set back. Without it, plain kubectl: a JSON patch of the
#   container's image, the Rollout's status read until it is Healthy on the new revision (Degraded
#   or aborted: failed), and on failure `status.abort` patched and the previous image set back.
#   undo: `argo rollouts undo`, or the image of the previous revision's ReplicaSet set back.
# Exit: 0 done, 2 bad input, 3 rollout failed and was taken back, 4 taking it back failed too.
# Writes previous_image, result and exit_code to $GITHUB_OUTPUT when that is set.
set -euo pipefail

name_pattern='^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
image_pattern='^[A-Za-z0-9]+([.-][A-Za-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+@sha256:[a-f0-9]{64}$'
command="${K8S_COMMAND:-deploy}"
kind="${K8S_KIND:-deployment}"
namespace="${K8S_NAMESPACE:-}"
deployment="${K8S_DEPLOYMENT:-}"
container="${K8S_CONTAINER:-}"
image="${DEPLOY_IMAGE:-}"
timeout="${ROLLOUT_TIMEOUT:-5m}"
poll="${K8S_POLL_INTERVAL:-5}"
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
say() { printf 'deploy-k8s: %s\n' "$*"; }

for pair in "K8S_NAMESPACE:$namespace" "K8S_DEPLOYMENT:$deployment" "K8S_CONTAINER:$container"; do
  [[ "${pair#*:}" =~ $name_pattern ]] || refuse "${pair%%:*} is not a Kubernetes name: $(printf '%q' "${pair#*:}")"
done
[[ "$timeout" =~ ^[0-9]{1,4}[smh]$ ]] || refuse "ROLLOUT_TIMEOUT must look like 300s or 5m, got $(printf '%q' "$timeout")"
[[ "$poll" =~ ^[0-9]{1,3}$ ]] || refuse "K8S_POLL_INTERVAL must be seconds, got $(printf '%q' "$poll")"
case "$kind" in
deployment) resource=deployment ;;
rollout) resource=rollouts.argoproj.io ;;
*) refuse "K8S_KIND must be deployment or rollout, got $(printf '%q' "$kind")" ;;
esac
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
seconds() {
  local n="${1%?}"
  case "$1" in *s) echo "$n" ;; *m) echo "$((n * 60))" ;; *h) echo "$((n * 3600))" ;; esac
}

previous="$(k get "$resource" "$deployment" \
  -o "jsonpath={.spec.template.spec.containers[?(@.name==\"$container\")].image}")"
say "$namespace/$resource/$deployment container $container runs ${previous:-nothing}"

# --- Deployment -----------------------------------------------------------------------------------
if [ "$kind" = deployment ]; then
  undo() {
    say "rolling back $namespace/$deployment to its previous revision"
    k rollout undo "deployment/$deployment" && k rollout status "deployment/$deployment" --timeout "$timeout"
  }
  if [ "$command" = undo ]; then
    if undo; then finish 0 rolled-back; fi
    finish 4 rollback-failed
  fi
  say "setting $container to $image"
  if k set image "deployment/$deployment" "$container=$image" &&
    k rollout status "deployment/$deployment" --timeout "$timeout"; then
    finish 0 deployed
  fi
  printf 'deploy-k8s: the rollout of %s did not complete within %s\n' "$image" "$timeout" >&2
  if undo; then finish 3 rolled-back; fi
  finish 4 rollback-failed
fi

# --- Argo Rollouts Rollout ------------------------------------------------------------------------
plugin=false
if k argo rollouts version >/dev/null 2>&1; then plugin=true; fi
say "Argo Rollouts Rollout; kubectl-argo-rollouts plugin: $plugin"

set_image() {
  say "setting $container of rollout $deployment to $1"
  if [ "$plugin" = true ]; then
    k argo rollouts set image "$deployment" "$container=$1"
    return
  fi
  local names index=-1 i=0 name
  read -r -a names <<<"$(k get "$resource" "$deployment" -o 'jsonpath={.spec.template.spec.containers[*].name}')"
  for name in "${names[@]}"; do
    if [ "$name" = "$container" ]; then index="$i"; fi
    i=$((i + 1))
  done
  [ "$index" -ge 0 ] || { say "rollout $deployment has no container $container" && return 1; }
  k patch "$resource" "$deployment" --type json \
    -p "[{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/$index/image\",\"value\":\"$1\"}]"
}

# Waits until the Rollout runs its newest spec, healthy, as its stable revision (its steps and
# analyses done); fails when, once the controller has seen that spec, it is Degraded or aborted,
# or at the timeout.
wait_rollout() {
  if [ "$plugin" = true ]; then
    k argo rollouts status "$deployment" --timeout "$timeout"
    return
  fi
  local deadline generation observed phase current stable aborted
  deadline=$(($(date +%s) + $(seconds "$timeout")))
  while :; do
    IFS='|' read -r generation observed phase current stable aborted < <(k get "$resource" "$deployment" \
      -o 'jsonpath={.metadata.generation}|{.status.observedGeneration}|{.status.phase}|{.status.currentPodHash}|{.status.stableRS}|{.status.abort}{"\n"}')
    say "rollout $deployment: phase ${phase:-unknown}, revision ${current:-?}, stable ${stable:-?}${aborted:+, abort $aborted}"
    if [ -n "${generation:-}" ] && [ "$generation" = "${observed:-}" ]; then
      if [ "${aborted:-}" = true ] || [ "${phase:-}" = Degraded ]; then return 1; fi
      if [ "${phase:-}" = Healthy ] && [ -n "${current:-}" ] && [ "$current" = "${stable:-}" ]; then return 0; fi
    fi
    [ "$(date +%s)" -lt "$deadline" ] || { say "rollout $deployment not done within $timeout" && return 1; }
    sleep "$poll"
  done
}

abort_rollout() {
  say "aborting rollout $deployment: the stable revision takes all traffic again"
  if [ "$plugin" = true ]; then
    k argo rollouts abort "$deployment"
  else
    k patch "$resource" "$deployment" --type merge --subresource status -p '{"status":{"abort":true}}'
  fi
}

# The image of the revision before the current one, from the Rollout's ReplicaSets.
previous_revision_image() {
  k get replicasets -o "jsonpath={range .items[?(@.metadata.ownerReferences[0].name==\"$deployment\")]}{.metadata.annotations.rollout\\.argoproj\\.io/revision} {.spec.template.spec.containers[?(@.name==\"$container\")].image}{\"\\n\"}{end}" |
    sort -n -r | sed -n '2s/^[0-9]* //p'
}

if [ "$command" = undo ]; then
  if [ "$plugin" = true ]; then
    say "rolling back rollout $deployment to its previous revision"
    if k argo rollouts undo "$deployment" && wait_rollout; then finish 0 rolled-back; fi
    finish 4 rollback-failed
  fi
  target="$(previous_revision_image)"
  [ -n "$target" ] || { say "no previous revision of rollout $deployment" && finish 4 rollback-failed; }
  if set_image "$target" && wait_rollout; then finish 0 rolled-back; fi
  finish 4 rollback-failed
fi

if set_image "$image" && wait_rollout; then
  finish 0 deployed
fi
printf 'deploy-k8s: the rollout of %s did not complete (degraded, aborted or over %s)\n' "$image" "$timeout" >&2
if abort_rollout && [ -n "$previous" ] && set_image "$previous" && wait_rollout; then
  finish 3 rolled-back
fi
finish 4 rollback-failed

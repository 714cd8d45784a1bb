#!/usr/bin/env bash
# Turns the deploy job's step outcomes into one verdict, a job summary and an annotation.
# Canary steps: the result (passed, promoted, aborted), weight and error counts of the last one.
# Env: see action.yml. Writes to $GITHUB_STEP_SUMMARY (stdout when unset). Always exits 0:
# the job's own steps already failed or succeeded; this only reports.
set -euo pipefail

previous="${PREVIOUS_IMAGE:-}"
image="${IMAGE:-}"
verdict=""
annotation=""
case "${DEPLOY_RESULT:-}" in
kept-live)
  verdict="Not switched: ${image:-the new image} failed its health check on the host before it took any traffic; ${previous:-the previous image} served throughout."
  annotation="error"
  ;;
rolled-back)
  verdict="Rolled back: ${image:-the new image} failed its health check on the host; ${previous:-the previous image} runs again."
  annotation="error"
  ;;
rollback-failed)
  verdict="Rollback FAILED: ${image:-the new image} failed and ${previous:-the previous image} could not be restored. ${ENVIRONMENT:-the environment} needs attention."
  annotation="error"
  ;;
failed-no-previous)
  verdict="Failed: ${image:-the new image} is not healthy and there is no previous image to restore."
  annotation="error"
  ;;
esac
if [ -z "$verdict" ] && [ "${CANARY_RESULT:-}" = aborted ]; then
  verdict="Canary aborted at ${CANARY_WEIGHT:-?} %: ${image:-the new image} had more errors than ${previous:-the stable version} (errors/requests ${CANARY_ERRORS:-in the step log}); ${previous:-the stable version} takes all traffic again."
  annotation="error"
fi
if [ -z "$verdict" ]; then
  case "${ROLLBACK_OUTCOME:-}" in
  success)
    verdict="Rolled back: the health check failed after the deploy; ${previous:-the previous image} runs again."
    annotation="error"
    ;;
  failure)
    verdict="Rollback FAILED after a failed health check: ${ENVIRONMENT:-the environment} needs attention."
    annotation="error"
    ;;
  esac
fi
if [ -z "$verdict" ]; then
  if [ "${DEPLOY_OUTCOME:-}" = success ] && [ "${HEALTH_OUTCOME:-}" = success ]; then
    verdict="Deployed: $image is healthy."
  elif [ "${DEPLOY_OUTCOME:-}" = cancelled ] || [ "${HEALTH_OUTCOME:-}" = cancelled ]; then
    verdict="Cancelled."
    annotation="warning"
  else
    verdict="Failed before anything was switched (deploy: ${DEPLOY_OUTCOME:-not run}, exit code ${DEPLOY_EXIT_CODE:-none})."
    annotation="error"
  fi
fi

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  exec 3>>"$GITHUB_STEP_SUMMARY"
else
  exec 3>&1
fi
row() { printf '| %s | %s |\n' "$1" "${2:-—}"; }
code() {
  if [ -n "$1" ]; then printf '%s%s%s' '`' "$1" '`'; fi
}
{
  printf '### %s %s\n\n' "${ACTION:-deploy}" "${ENVIRONMENT:-}"
  printf '%s\n\n' "$verdict"
  printf '| | |\n| --- | --- |\n'
  row "Request" "$(code "${REQUEST_ID:-}")"
  row "Image" "$(code "$image")"
  row "Built in this run" "$([ "${BUILT:-}" = true ] && echo yes || echo 'no (image already in the registry)')"
  row "Previous image" "$(code "$previous")"
  row "Strategy" "${STRATEGY:-recreate}"
  row "Deploy" "${DEPLOY_OUTCOME:-not run}${DEPLOY_RESULT:+ ($DEPLOY_RESULT, exit code ${DEPLOY_EXIT_CODE:-?})}"
  if [ -n "${CANARY_RESULT:-}" ]; then
    row "Canary" "$CANARY_RESULT at ${CANARY_WEIGHT:-?} % (errors/requests, canary vs stable: ${CANARY_ERRORS:-?})"
  fi
  row "Health check" "${HEALTH_OUTCOME:-not run}"
  row "Rollback" "${ROLLBACK_OUTCOME:-not needed}"
  row "URL" "${APP_URL:-}"
} >&3

if [ -n "$annotation" ]; then
  printf '::%s title=%s %s::%s\n' "$annotation" "${ACTION:-deploy}" "${ENVIRONMENT:-}" "$verdict"
else
  printf '%s\n' "$verdict"
fi

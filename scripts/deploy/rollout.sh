#!/usr/bin/env bash
# deploy.yml's deploy step: apply one release to the cluster kubectl points
# at, wait for it, smoke-test it, and put the previous release back if any of
# that fails.
#
#   rollout.sh IMAGE DIGEST REVISION NAMESPACE PUBLIC_URL
#
# "Previous release" is what the live Deployment says: its image digest and
# the doc-proxy.dev/revision annotation render.sh put there. Rolling back
# re-renders that commit's k8s/ with that digest and applies it, so the
# ConfigMap and every other object return too, not only the pod template
# (which is all `kubectl rollout undo` restores). Needs the full git history
# (checkout with fetch-depth: 0) for the worktree of the earlier commit.
set -euo pipefail
image="${1:?IMAGE}" digest="${2:?DIGEST}" revision="${3:?REVISION}" namespace="${4:?NAMESPACE}" public_url="${5:?PUBLIC_URL}"
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
rollout_timeout="${ROLLOUT_TIMEOUT:-300s}"
deployments=(doc-proxy dummy-pdf-or-png)
work=$(mktemp -d)
trap 'git -C "$repo" worktree remove --force "$work/previous" 2>/dev/null || true; rm -rf "$work"' EXIT

live() { kubectl -n "$namespace" get deployment doc-proxy -o "jsonpath=$1" 2>/dev/null || true; }
previous_image=$(live '{.spec.template.spec.containers[0].image}')
previous_revision=$(live '{.metadata.annotations.doc-proxy\.dev/revision}')
previous_digest="${previous_image##*@}"
echo "deploy: live release: ${previous_revision:-none} ${previous_digest:-none}"

apply_and_check() {
  local manifests="$1"
  kubectl apply -f "$manifests" &&
    for d in "${deployments[@]}"; do
      kubectl -n "$namespace" rollout status "deployment/$d" --timeout="$rollout_timeout" || return 1
    done &&
    kubectl -n "$namespace" exec deployment/doc-proxy -c doc-proxy -- \
      /app/bin/doc-proxy-host probe http://127.0.0.1:9090/readyz &&
    "$here/smoke-test.sh" "$public_url"
}

"$here/render.sh" "$image" "$digest" "$revision" >"$work/release.yaml"
echo "deploy: applying $revision $digest"
if apply_and_check "$work/release.yaml"; then
  echo "deploy: $revision $digest is live"
  exit 0
fi

echo "deploy: $revision $digest failed; rolling back" >&2
if [[ -z "$previous_revision" || ! "$previous_digest" =~ ^sha256: ]]; then
  echo "deploy: no earlier release recorded on the Deployment; nothing to roll back to" >&2
  exit 1
fi
git -C "$repo" worktree add --detach "$work/previous" "$previous_revision" >/dev/null
"$here/render.sh" "$image" "$previous_digest" "$previous_revision" "$work/previous" >"$work/previous.yaml"
if apply_and_check "$work/previous.yaml"; then
  echo "deploy: rolled back to $previous_revision $previous_digest" >&2
else
  echo "deploy: the rollback to $previous_revision $previous_digest failed too; the service needs a person" >&2
fi
exit 1

#!/usr/bin/env bash
# deploy.yml's deploy step: apply one release to the cluster kubectl points
# at, wait for it, smoke-test it, and put the previous release back if any of
# that fails.
#
#   rollout.sh IMAGE DIGEST REVISION NAMESPACE PUBLIC_URL
#
# REVISION is the commit the image was built from (release.yml passes its own
# commit; a hand-run deploy.yml names it). The manifests applied are that
# commit's k8s/, rendered from a worktree when it is not this checkout's
# HEAD, so a roll-back to an old image brings back its own ConfigMap and
# Deployment too, not main's. Needs the full git history (checkout with
# fetch-depth: 0).
#
# "Previous release" is what the live Deployment says: its image digest and
# the doc-proxy.dev/revision annotation render.sh put there. With no live
# Deployment this is the first release: there is nothing to roll back to, so
# a failure leaves what was applied in place for a person to look at, and the
# smoke test waits longer (FIRST_SMOKE_DEADLINE), since the Gateway's load
# balancer and its managed certificate are created by this very apply.
#
# Before the smoke test, the Gateway must report Programmed (GKE's
# controller has built the load balancer); then smoke-test.sh polls
# PUBLIC_URL until its deadline.
set -euo pipefail
image="${1:?IMAGE}" digest="${2:?DIGEST}" revision="${3:?REVISION}" namespace="${4:?NAMESPACE}" public_url="${5:?PUBLIC_URL}"
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
rollout_timeout="${ROLLOUT_TIMEOUT:-300s}"
gateway="${GATEWAY:-doc-proxy}"
gateway_timeout="${GATEWAY_TIMEOUT:-900s}"
smoke_deadline="${SMOKE_DEADLINE:-300}"
first_smoke_deadline="${FIRST_SMOKE_DEADLINE:-1800}"
deployments=(doc-proxy dummy-pdf-or-png)
work=$(mktemp -d)
worktrees=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local w
  for w in "${worktrees[@]}"; do git -C "$repo" worktree remove --force "$w" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Sets tree to the directory holding COMMIT's k8s/: this checkout when COMMIT
# is HEAD, else a worktree of it (no subshell, so cleanup sees the worktree).
tree=""
tree_of() {
  local commit
  commit=$(git -C "$repo" rev-parse --verify --quiet "$1^{commit}") || {
    echo "deploy: $1 is not a commit in this checkout (fetch-depth: 0?)" >&2; return 1; }
  if [[ "$commit" == "$(git -C "$repo" rev-parse HEAD)" ]]; then
    tree="$repo"; return
  fi
  tree="$work/tree-${commit:0:12}"
  if [[ ! -d "$tree" ]]; then
    git -C "$repo" worktree add --detach "$tree" "$commit" >/dev/null 2>&1 || {
      echo "deploy: cannot check out $commit" >&2; return 1; }
    worktrees+=("$tree")
  fi
}

live() { kubectl -n "$namespace" get deployment doc-proxy -o "jsonpath=$1" 2>/dev/null || true; }
previous_image=$(live '{.spec.template.spec.containers[0].image}')
previous_revision=$(live '{.metadata.annotations.doc-proxy\.dev/revision}')
previous_digest="${previous_image##*@}"
first_release=false
if [[ -z "$previous_image" ]]; then
  first_release=true
  smoke_deadline="$first_smoke_deadline"
  echo "deploy: no doc-proxy Deployment in $namespace: this is the first release"
else
  echo "deploy: live release: ${previous_revision:-unrecorded} ${previous_digest:-none}"
fi

apply_and_check() {
  local manifests="$1"
  kubectl apply -f "$manifests" || return 1
  for d in "${deployments[@]}"; do
    kubectl -n "$namespace" rollout status "deployment/$d" --timeout="$rollout_timeout" || return 1
  done
  kubectl -n "$namespace" exec deployment/doc-proxy -c doc-proxy -- \
    /app/bin/doc-proxy-host probe http://127.0.0.1:9090/readyz || return 1
  echo "deploy: waiting up to $gateway_timeout for gateway/$gateway to be Programmed"
  kubectl -n "$namespace" wait --for=condition=Programmed "gateway/$gateway" --timeout="$gateway_timeout" || return 1
  "$here/smoke-test.sh" "$public_url" "$smoke_deadline"
}

tree_of "$revision"
"$here/render.sh" "$image" "$digest" "$revision" "$tree" >"$work/release.yaml"
echo "deploy: applying $revision $digest (manifests of $revision)"
if apply_and_check "$work/release.yaml"; then
  echo "deploy: $revision $digest is live"
  exit 0
fi

if $first_release; then
  echo "deploy: the first release $revision $digest failed; there is no earlier release to roll back to," >&2
  echo "deploy: so it stays applied: fix forward (docs/deploy.md, \"If the first deploy fails\")" >&2
  exit 1
fi
echo "deploy: $revision $digest failed; rolling back" >&2
if [[ -z "$previous_revision" || ! "$previous_digest" =~ ^sha256: ]]; then
  echo "deploy: the live Deployment records no revision and digest; nothing to roll back to" >&2
  exit 1
fi
tree_of "$previous_revision"
"$here/render.sh" "$image" "$previous_digest" "$previous_revision" "$tree" >"$work/previous.yaml"
if apply_and_check "$work/previous.yaml"; then
  echo "deploy: rolled back to $previous_revision $previous_digest" >&2
else
  echo "deploy: the rollback to $previous_revision $previous_digest failed too; the service needs a person" >&2
fi
exit 1

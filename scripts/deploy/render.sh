#!/usr/bin/env bash
# Renders k8s/overlays/gke (or OVERLAY=spinkube: k8s/overlays/spinkube) for
# one release: the image pinned to IMAGE@DIGEST and the doc-proxy Deployment,
# where there is one, annotated with the commit it was rendered from, so the
# next deploy knows what to roll back to. Writes the manifests to stdout.
#
#   [OVERLAY=gke|spinkube] render.sh IMAGE DIGEST REVISION [REPO_DIR]
#
# REPO_DIR (default: this checkout) is where k8s/ is read from; rollout.sh
# passes a worktree of an earlier commit to re-render a previous release.
set -euo pipefail
image="${1:?IMAGE}" digest="${2:?DIGEST}" revision="${3:?REVISION}"
repo="${4:-$(cd "$(dirname "$0")/../.." && pwd)}"

[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "render.sh: not a sha256 digest: $digest" >&2; exit 2; }
[[ "$revision" =~ ^[0-9a-f]{7,40}$ ]] || { echo "render.sh: not a commit SHA: $revision" >&2; exit 2; }
[[ "$image" =~ ^[a-z0-9.-]+(/[a-z0-9._-]+)+$ ]] || { echo "render.sh: not an image name: $image" >&2; exit 2; }
overlay="${OVERLAY:-gke}"
[[ "$overlay" == gke || "$overlay" == spinkube ]] || { echo "render.sh: OVERLAY is gke or spinkube, not $overlay" >&2; exit 2; }

# A throwaway overlay on top of the gke one; it has to sit inside the
# checkout, since kustomize loads bases by relative path.
release=$(mktemp -d "$repo/k8s/.release.XXXXXX")
trap 'rm -rf "$release"' EXIT
cat >"$release/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../overlays/$overlay
images:
  - name: $image
    digest: $digest
patches:
  - target:
      kind: Deployment
      name: doc-proxy
    patch: |-
      - op: add
        path: /metadata/annotations/doc-proxy.dev~1revision
        value: "$revision"
YAML
kubectl kustomize "$release"

#!/usr/bin/env bash
# make k8s-check: every overlay rendered and checked offline.
#  1. kubectl kustomize renders base, each overlay, and each component (through the overlays);
#  2. kubernetes-validate --strict: the built-in kinds, for Kubernetes 1.31 and the newest it bundles;
#  3. the custom resources: Gateway API and GKE policies against their published schemas (npm,
#     scripts/k8s/package-lock.json), every kind against the written subsets of its CRD (unknown
#     fields refused), plus cross-references (k8s/schemas/README.md says what is checked against what);
#     then scripts/k8s/check_platform.py (with its self-test): scrapes admitted from GKE's collector
#     namespace, SpinApps in a namespace whose Pod Security level their pods meet, the RuntimeClass
#     runtime-class-manager installs, the project's Shim (k8s/spin-shim: a containerd-shim-spin whose Spin
#     provides wit/world.wit's imports, for the node pool's architecture, with the recorded digest) and a
#     pinned runtime-class-manager that writes containerd 2's config, no documented `kubectl apply -k` of a
#     placeholder digest, one address per GKE Gateway, DNS egress
#     to the resolver of each cluster's DNS provider (Cloud DNS on GKE: 169.254.169.254);
#  4. yamllint on the sources; checkov on the rendered manifests and the Dockerfile; hadolint;
#  5. the rendered Deployments' exact args and env run with the static host (`make dist`):
#     probe paths answer, documents are served, SIGTERM drains within the grace period.
# Needs the tools of `make tools` on PATH, scripts/k8s/node_modules (`make k8s-schemas`) and DIST_DIR
# from `make dist`.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DIST_DIR:?run through make k8s-check}"
# k8s/spin-shim is no overlay but is rendered and checked like one (the SpinKube cluster's Shim).
overlays=(k8s/overlays/local k8s/overlays/gke k8s/overlays/spinkube k8s/spin-shim)
newest=$(python -c "import kubernetes_validate.utils as u; print(u.latest_version())")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "k8s-check: render"
for o in k8s/base "${overlays[@]}"; do
  name=$(basename "$o")
  kubectl kustomize "$o" >"$out/$name.yaml"
  echo "  $o: $(grep -c '^kind:' "$out/$name.yaml") objects"
done

echo "k8s-check: kubernetes-validate --strict (1.31.0 and $newest), built-in kinds"
PYTHONPATH=scripts/k8s python - "$out" <<'PY'
import os, sys, yaml
from rendered import BUILT_IN_GROUPS
out = sys.argv[1]
for f in sorted(os.listdir(out)):
    docs = [d for d in yaml.safe_load_all(open(os.path.join(out, f))) if d]
    with open(os.path.join(out, "builtin-" + f), "w") as w:
        yaml.safe_dump_all([d for d in docs if d["apiVersion"] in BUILT_IN_GROUPS], w)
PY
for version in 1.31.0 "$newest"; do
  for f in "$out"/builtin-*.yaml; do
    kubernetes-validate --strict --quiet -k "$version" "$f"
  done
  echo "  $version: ok"
done

echo "k8s-check: custom resources against their projects' published schemas"
for o in "${overlays[@]}"; do
  name=$(basename "$o")
  python -c 'import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)' \
    <"$out/$name.yaml" >"$out/$name.json"
  echo "  $o:"
  node scripts/k8s/validate_crds.mjs "$out/$name.json"
done

echo "k8s-check: custom resources against k8s/schemas/custom-resources.yaml"
python scripts/k8s/check_custom_resources.py "${overlays[@]}"

echo "k8s-check: scrapes, Pod Security, the Spin shim, documented apply paths (k8s/schemas/upstream.yaml)"
python -m unittest discover -q -s scripts/k8s -p 'test_*.py'
python scripts/k8s/check_platform.py

echo "k8s-check: yamllint"
yamllint -c k8s/.yamllint k8s

echo "k8s-check: checkov (rendered manifests, Dockerfile)"
mkdir -p "$out/checkov-input"
cp "$out"/local.yaml "$out"/gke.yaml "$out"/spinkube.yaml "$out"/spin-shim.yaml "$out/checkov-input/"
checkov --skip-download --quiet --compact --framework kubernetes -d "$out/checkov-input"
checkov --skip-download --quiet --compact --framework dockerfile -f Dockerfile
echo "k8s-check: hadolint"
hadolint Dockerfile

echo "k8s-check: the rendered Deployments' commands, run with $DIST_DIR"
fixtures="$out/fixtures"
cargo run -q --release -p doc-fixtures --example write_fixtures -- "$fixtures"
for o in k8s/overlays/local k8s/overlays/gke; do
  python scripts/k8s/run_rendered.py "$o" --dist "$DIST_DIR" --fixtures "$fixtures" --workdir "$out"
done
echo "k8s-check: passed"

#!/usr/bin/env bash
# make deploy-check: what deploy.yml runs, exercised here.
#  1. render.sh pins every container of the gke overlay to IMAGE@DIGEST and
#     records the revision; it refuses a malformed digest;
#  2. smoke-test.sh passes against the service on loopback (emulator + doc-proxy);
#  3. smoke-test.sh fails when the service cannot serve documents (an upstream
#     answering only 500s), so a broken release would be rolled back;
#  4. rollout.sh, with a stand-in kubectl that records what it is asked and a
#     stand-in load balancer that answers 502 for its first seconds (a new
#     Gateway): the first release waits for the Gateway to be Programmed and
#     polls until the URL serves; a failed first release is not "rolled
#     back"; a failed release rolls back to the live one, rendered from the
#     live one's commit; a release of an earlier commit applies that commit's
#     manifests, not HEAD's.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${HOST_BIN:?}" "${COMPONENT:?}" "${UPSTREAM_WASM:?}"
# shellcheck source=scripts/lib/hosts.sh
source scripts/lib/hosts.sh
upstream="" service="" broken_upstream="" broken=""  # set by start_host

image=europe-west1-docker.pkg.dev/doc-proxy-prod/doc-proxy/doc-proxy
digest="sha256:$(printf '%064d' 42)"
revision=0123456789abcdef0123456789abcdef01234567

echo "deploy-check: render.sh"
scripts/deploy/render.sh "$image" "$digest" "$revision" >"$workdir/release.yaml"
images=$(grep -E '^\s+image:' "$workdir/release.yaml" | sort -u | awk '{print $2}')
if [ "$images" != "$image@$digest" ]; then
  echo "deploy-check: rendered images are not all $image@$digest:" >&2; echo "$images" >&2; exit 1
fi
grep -q "doc-proxy.dev/revision: $revision" "$workdir/release.yaml" || { echo "deploy-check: no revision annotation" >&2; exit 1; }
if scripts/deploy/render.sh "$image" "sha256:abc" "$revision" >/dev/null 2>&1; then
  echo "deploy-check: render.sh accepted a malformed digest" >&2; exit 1
fi
echo "  every container runs $image@$digest; revision recorded; bad digest refused"

echo "deploy-check: smoke-test.sh against a healthy service"
start_host upstream "$workdir/upstream.log" --component "$UPSTREAM_WASM"
start_host service "$workdir/service.log" --component "$COMPONENT" --upstream-url "http://$upstream"
scripts/deploy/smoke-test.sh "http://$service"

echo "deploy-check: smoke-test.sh against a service whose upstream only fails"
start_host broken_upstream "$workdir/broken-upstream.log" --component "$UPSTREAM_WASM" --variable error_percent=100
start_host broken "$workdir/broken.log" --component "$COMPONENT" \
  --upstream-url "http://$broken_upstream" --variable max_attempts=2 --variable deadline_ms=2000
if SMOKE_INTERVAL=1 scripts/deploy/smoke-test.sh "http://$broken" 3 >"$workdir/broken-smoke.log" 2>&1; then
  cat "$workdir/broken-smoke.log" >&2
  echo "deploy-check: the smoke test passed a service that serves no documents" >&2; exit 1
fi
sed 's/^/  /' "$workdir/broken-smoke.log"

# --- rollout.sh ----------------------------------------------------------------
# A kubectl that renders with the real one (kustomize) and otherwise records
# its arguments: `get` answers with FAKE_LIVE_IMAGE / FAKE_LIVE_REVISION (none:
# no Deployment yet), `apply -f` keeps a copy of each file it is given.
mkdir -p "$workdir/bin"
real_kubectl=$(command -v kubectl)
cat >"$workdir/bin/kubectl" <<SH
#!/usr/bin/env bash
set -euo pipefail
[[ "\$1" == kustomize ]] && exec "$real_kubectl" "\$@"
echo "kubectl \$*" >>"\$FAKE_LOG/calls"
case " \$* " in
  *" get deployment doc-proxy "*)
    [[ -n "\${FAKE_LIVE_IMAGE:-}" ]] || { echo 'Error from server (NotFound): deployments.apps "doc-proxy" not found' >&2; exit 1; }
    case "\$*" in *revision*) printf %s "\${FAKE_LIVE_REVISION:-}" ;; *) printf %s "\$FAKE_LIVE_IMAGE" ;; esac ;;
  *" apply -f "*)
    n=\$(find "\$FAKE_LOG" -name 'applied-*.yaml' | wc -l)
    cp "\${@: -1}" "\$FAKE_LOG/applied-\$((n + 1)).yaml" ;;
esac
SH
chmod +x "$workdir/bin/kubectl"

# A load balancer that answers 502 for its first 8 seconds, then relays.
start_lb() {
  local var="$1" target="$2" warmup="$3" log="$workdir/lb-$1.log"
  python3 scripts/deploy/late_lb.py "http://$target" "$warmup" >"$log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do
    grep -q '^listening ' "$log" && { printf -v "$var" '%s' "$(sed -n 's/^listening //p' "$log")"; return; }
    sleep 0.1
  done
  echo "deploy-check: late_lb.py did not start" >&2; cat "$log" >&2; exit 1
}
late="" late_broken=""  # set by start_lb
start_lb late "$service" 8
start_lb late_broken "$broken" 0

rollout() {  # rollout NAME URL REVISION [VAR=VALUE...]: runs rollout.sh, log in $workdir/NAME
  local name="$1" url="$2" rev="$3"; shift 3
  rm -rf "${workdir:?}/$name"; mkdir -p "$workdir/$name"
  env PATH="$workdir/bin:$PATH" FAKE_LOG="$workdir/$name" SMOKE_INTERVAL=2 "$@" \
    scripts/deploy/rollout.sh "$image" "$digest" "$rev" doc-proxy "http://$url" >"$workdir/$name/out" 2>&1
}
fail() { echo "deploy-check: $1" >&2; sed 's/^/    /' "$workdir/$2/out" "$workdir/$2/calls" >&2 2>/dev/null || true; exit 1; }
head=$(git rev-parse HEAD)
# The newest commit before the last change to what the gke overlay renders:
# its manifests differ from HEAD's.
old=$(git rev-parse "$(git log -1 --format=%H -- k8s/base k8s/components k8s/overlays/gke)^")
old_digest="sha256:$(printf '%064d' 7)"

echo "deploy-check: rollout.sh, first release behind a load balancer that is not ready yet"
rollout first "$late" "$head" FIRST_SMOKE_DEADLINE=60 || fail "the first release failed while the load balancer came up" first
grep -q 'wait --for=condition=Programmed gateway/doc-proxy' "$workdir/first/calls" ||
  fail "rollout.sh did not wait for the Gateway to be Programmed" first
sed 's/^/  /' "$workdir/first/out" | grep -E 'first release|502|is live'

echo "deploy-check: rollout.sh, a failed first release"
if rollout first-broken "$late_broken" "$head" FIRST_SMOKE_DEADLINE=3; then
  fail "a broken first release passed" first-broken
fi
grep -q 'no earlier release to roll back to' "$workdir/first-broken/out" || fail "a failed first release is not reported as such" first-broken
[[ $(find "$workdir/first-broken" -name 'applied-*.yaml' | wc -l) == 1 ]] || fail "a failed first release applied something else" first-broken
echo "  failed; nothing rolled back to, said so"

echo "deploy-check: rollout.sh, a failed release rolls back to the live one, from its own commit"
if rollout rollback "$late_broken" "$head" SMOKE_DEADLINE=3 \
  FAKE_LIVE_IMAGE="$image@$old_digest" FAKE_LIVE_REVISION="$old"; then
  fail "a broken release passed" rollback
fi
git worktree add --detach "$workdir/old-tree" "$old" >/dev/null 2>&1
scripts/deploy/render.sh "$image" "$old_digest" "$old" "$workdir/old-tree" >"$workdir/old.yaml"
scripts/deploy/render.sh "$image" "$digest" "$old" "$workdir/old-tree" >"$workdir/old-new-digest.yaml"
git worktree remove --force "$workdir/old-tree"
cmp -s "$workdir/rollback/applied-2.yaml" "$workdir/old.yaml" ||
  fail "the roll-back did not apply the live release's own manifests ($old)" rollback
echo "  rolled back to ${old:0:12} with that commit's manifests"

echo "deploy-check: rollout.sh, deploying an earlier commit's image applies that commit's manifests"
cmp -s "$workdir/old-new-digest.yaml" "$workdir/release.yaml" &&
  { echo "deploy-check: ${old:0:12} renders as HEAD does; pick a commit whose manifests differ" >&2; exit 1; }
rollout earlier "$service" "$old" FAKE_LIVE_IMAGE="$image@$digest" FAKE_LIVE_REVISION="$head" ||
  fail "deploying ${old:0:12} failed" earlier
cmp -s "$workdir/earlier/applied-1.yaml" "$workdir/old-new-digest.yaml" ||
  fail "deploying ${old:0:12} applied other manifests than that commit's (HEAD's?)" earlier
echo "  ${old:0:12}'s manifests applied"
echo "deploy-check: passed"

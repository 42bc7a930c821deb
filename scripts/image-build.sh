#!/usr/bin/env bash
# make image: the Dockerfile's final stage, with its `dist` stage replaced by
# the directory `make dist` filled (a named build context), so nothing is
# pulled and nothing is compiled inside the build. Prints the image size.
# usage: image-build.sh DIST_DIR IMAGE
set -euo pipefail
cd "$(dirname "$0")/.."
dist="$1" image="$2"
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' host/Cargo.toml | head -1)
buildah build --quiet --isolation chroot --layers=false --format docker \
  --build-context "dist=$dist" \
  --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  -f Dockerfile -t "$image" . >/dev/null
size=$(podman image inspect --format '{{.Size}}' "$image")
awk -v s="$size" -v i="$image" 'BEGIN { printf "image %s: %.1f MB (%d bytes)\n", i, s / 1e6, s }'

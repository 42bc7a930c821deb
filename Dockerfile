# syntax=docker/dockerfile:1.7
# doc-proxy: one image for the service and for the upstream emulator.
#
#   docker build -t doc-proxy .                     # everything compiled in the `build` stage
#   make image                                      # here: the same final stage, fed by `make dist`
#
# The final stage is written once. `make image` replaces the `dist` stage with
# the directory `make dist` fills (buildah --build-context dist=target/dist), so
# the local image and the CI image cannot drift: they differ only in who ran
# `make dist`.
#
#   docker run -e SPIN_VARIABLE_UPSTREAM_URL=http://upstream:3000 doc-proxy   # the service (/app/spin.toml)
#   docker run doc-proxy --component /app/components/dummy_pdf_or_png.cwasm \
#       --listen-addr 0.0.0.0:3000 --admin-addr 0.0.0.0:3001                # the emulator

ARG RUST_VERSION=1.95.0

FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS build
# musl-tools: mimalloc is C and the host is linked statically against musl.
RUN apt-get update \
 && apt-get install -y --no-install-recommends make=4.3-4.1 musl-tools=1.2.3-1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make dist DIST_DIR=/dist

# What `make dist` produces: bin/doc-proxy-host (static), spin.toml (the
# production manifest), doc-proxy precompiled at the path spin.toml's `source`
# names (target/wasm32-wasip2/wasm/doc_proxy.wasm: the host tells precompiled
# code by its content), components/dummy_pdf_or_png.cwasm.
FROM scratch AS dist
COPY --from=build /dist/ /

FROM scratch
ARG VERSION=dev
ARG REVISION=unknown
# The repository URL; CI passes it (${{ github.server_url }}/${{ github.repository }}).
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="doc-proxy" \
      org.opencontainers.image.description="Fetches documents from an unreliable upstream, validates them, serves them with the right MIME type. A wasmtime host serving WASI HTTP components." \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=dist --chown=0:0 / /app/
# The distroless "nonroot" UID/GID; nothing in the image is writable by it.
USER 65532:65532
# Components are precompiled: no compiler runs at start and nothing is written,
# so the root filesystem can be read-only.
ENV LISTEN_ADDR=0.0.0.0:8080 \
    ADMIN_ADDR=0.0.0.0:9090
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s \
  CMD ["/app/bin/doc-proxy-host", "probe", "http://127.0.0.1:9090/readyz"]
ENTRYPOINT ["/app/bin/doc-proxy-host"]
# The production manifest, as Spin and SpinKube read it; SPIN_VARIABLE_<NAME>
# sets this environment's values. Other args (the emulator's) replace it.
CMD ["--manifest", "/app/spin.toml"]

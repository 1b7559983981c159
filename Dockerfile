# maglev as a container image: the release directory of `deno task bundle`
# (maglev.js, the Deno runtime, the `maglev` launcher) on Debian 12.
# Capabilities, mounts and a compose file: docs/user-guide.md#container and
# deploy/compose.yaml.
#
#   docker build --build-arg MAGLEV_COMMIT="$(git rev-parse --short=12 HEAD)" \
#     -t vpp-maglev .
#   docker run --rm vpp-maglev version
#
# Both stages are Debian 12 (bookworm): the Deno binary is copied from the
# build stage into the runtime stage, so they must share the glibc. The tags
# follow Debian 12's point and security releases; pin a digest
# (`debian:bookworm-slim@sha256:…`) when you need bit-for-bit rebuilds.

FROM node:22-bookworm-slim AS build
# The Deno that runs the tests (tests/docker_test.ts checks they agree);
# npm is the same installer .ci/run uses.
ARG DENO_VERSION=2.9.6
RUN npm install -g "deno@${DENO_VERSION}" && deno --version
WORKDIR /src
# Dependencies first, so this layer survives source changes. --frozen: the
# lock file is the truth; a build never resolves new versions.
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY . .
# .git is not in the build context (.dockerignore), so the commit comes from
# the build argument; an empty MAGLEV_BUILD_DATE means "now".
ARG MAGLEV_COMMIT=unknown
ARG MAGLEV_BUILD_DATE=
RUN if [ -z "${MAGLEV_BUILD_DATE}" ]; then unset MAGLEV_BUILD_DATE; fi \
  && deno run -A tools/bundle.ts --out-dir /out/maglev \
  && /out/maglev/maglev version

FROM debian:bookworm-slim
# ca-certificates: the system trust store, used by https and tcp+tls probes
# when DENO_TLS_CA_STORE=system (Deno's default is its built-in Mozilla
# roots). Nothing else: probes, netns entry and VPP use no helper tools.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates \
  && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid so host files (config, credentials, VPP's shared memory)
# can be granted to it by number. DENO_DIR holds only Deno's V8 code cache,
# which makes start-up faster; where it is not writable (a read-only root
# file system, another uid) Deno keeps the cache in memory and runs as well.
RUN groupadd --system --gid 10001 maglevd \
  && useradd --system --uid 10001 --gid maglevd --no-create-home \
    --home-dir /nonexistent --shell /usr/sbin/nologin maglevd \
  && install -d -o maglevd -g maglevd -m 0750 /var/cache/vpp-maglev
COPY --from=build /out/maglev/ /usr/lib/vpp-maglev/
RUN ln -s /usr/lib/vpp-maglev/maglev /usr/local/bin/maglev \
  && for name in maglevd maglevc maglevd-frontend maglevt; do \
    ln -s maglev "/usr/local/bin/${name}"; \
  done
COPY deploy/maglev.yaml /etc/vpp-maglev/maglev.yaml
# VPP off unless asked for, unlike the Debian package: a container reaches VPP
# only when the host's /dev/shm and /run/vpp are mounted into it, which
# deploy/compose.yaml does, together with MAGLEV_VPP=true.
# DENO_NO_UPDATE_CHECK: the launcher sets it for maglev; this covers other
# uses of the runtime, such as the dashboard's health check in compose.yaml.
ENV DENO_DIR=/var/cache/vpp-maglev/deno \
  DENO_NO_UPDATE_CHECK=1 \
  MAGLEV_VPP=false
# gRPC API (daemon), Prometheus /metrics (daemon), dashboard (maglev web).
EXPOSE 9090 9091 8080
USER maglevd
# For the daemon (the default command): healthy while its gRPC API answers.
# `maglev web` has no gRPC server; deploy/compose.yaml gives it its own check.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/maglev", "ctl", "show", "version"]
ENTRYPOINT ["/usr/local/bin/maglev"]
CMD ["daemon", "--config", "/etc/vpp-maglev/maglev.yaml"]

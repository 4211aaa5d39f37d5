# syntax=docker/dockerfile:1
# Gatehouse container image: multi-stage, non-root, no package manager or compiler at run time.
#
#   docker build -t gatehouse:0.1.0 .
#   docker run --rm -p 9191:9191 -p 9192:9192 -v $PWD/config:/etc/gatehouse/config:ro \
#     -e GATEHOUSE_CONFIG=/etc/gatehouse/config/config.yaml gatehouse:0.1.0
#
# The Node version is the project's (scripts/install-tools.sh NODE_VERSION); the tag is pinned and
# test/e2e/manifests.test.ts checks both stages use it. Pin the digest too in your own builds
# (FROM node:<tag>@sha256:...) for byte-for-byte reproducible images.

# --- build: compile TypeScript, then keep only production dependencies ---------------------------
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Plain `npm ci`: the committed lock file is complete (scripts/install-tools.sh checks it on every
# test run with `npm ci --dry-run`), so there is no fallback that could install something else.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY proto ./proto
RUN npx tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/.cache

# --- runtime: Node and the compiled service, nothing else -----------------------------------------
FROM node:24.21.0-bookworm-slim AS runtime
# No npm, npx, corepack or yarn in the image: nothing is installed at run time.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx \
      /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the service user: the process cannot modify its own code.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/proto ./proto
# A numeric non-root user (distroless "nonroot" ids), so Kubernetes can verify runAsNonRoot.
USER 65532:65532
# 9191: gRPC ext_authz v3 Check + grpc.health.v1.  9192: /healthz /readyz /metrics JWKS.
EXPOSE 9191 9192
# `gatehouse` is the entrypoint; `serve` the default command (`docker run IMAGE check ...` and
# `docker run IMAGE keygen --out DIR` work too). Config: --config FILE or GATEHOUSE_CONFIG.
# No HEALTHCHECK: Kubernetes probes gRPC health on 9191 and /healthz on 9192 (deploy/kubernetes).
# The V8 flags size the heap for what is live rather than the allocation rate and keep short-lived
# objects young (src/server/node-flags.ts); they are launch flags, not accepted in NODE_OPTIONS.
ENTRYPOINT ["node", "--max-semi-space-size=8", "--heap-growing-percent=100", "--no-allocation-site-pretenuring", "/app/dist/src/cli/main.js"]
CMD ["serve"]

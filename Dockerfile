# Routewise: one image for the operator and the router (`routewise operator` / `routewise router`).
#   docker build -t ghcr.io/routewise/routewise:0.1.0 .
# `npm run image` builds this production stage without Docker (scripts/image/, docs/adr/0018): it reads this file and
# fails on any instruction it does not reproduce. test/helm/image.test.ts runs the entrypoint from these COPY lines.
ARG NODE_IMAGE=node:20.19.5-bookworm-slim

# --- build: compile the TypeScript sources to dist/ ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# onnxruntime-node's install script would download GPU providers; the CPU runtime ships in the npm package.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: `prepare` (the build) runs below, once the sources are copied.
RUN npm ci --ignore-scripts
# The whole context (see .dockerignore); tsconfig.build.json compiles only cli/, operator/, router/ and analyzer/eval/.
COPY . .
RUN npm run build

# --- production: runtime dependencies, the compiled output, the CRDs and the classifier model ---
FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY bin/ bin/
COPY --from=build /app/dist/ dist/
COPY crds/ crds/
COPY router/classify/models/ router/classify/models/
# A fixed non-root uid/gid (the chart's securityContext runs as 65532 too); the filesystem stays root-owned.
USER 65532:65532
EXPOSE 8080 8081
# An 8 MB young generation (V8's default lets it grow to 16 MB per semi-space): ~15 MB less resident per process at
# saturation, within the noise in throughput. No memory reducer: V8 shrinks an idle heap, and the first requests after
# a pause then ran 17% more CPU and a 37% higher p99 while it grew back (docs/adr/0005). V8 reads both only at start.
ENTRYPOINT ["node", "--max-semi-space-size=8", "--no-memory-reducer", "bin/routewise.js"]
CMD ["--help"]

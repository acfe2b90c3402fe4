# syntax=docker/dockerfile:1
# specgate's runtime image. Build from the project root, with your vendor OpenAPI documents in
# openapi/ (git-ignored; they are not ours to redistribute):
#   docker build -t specgate:local .
# Run it as deploy/compose.yaml does: read-only root, secrets from the environment at run time.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
ENV SPECGATE_OPENAPI_DIR=/app/openapi
# The connectors are generated at build time, so the running container never writes them.
RUN npm run build --if-present \
 && node bin/specgate.js generate \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root, run as node: the process cannot change its own code or catalog.
COPY --from=build /app /app
USER node
EXPOSE 3000 3001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/specgate.js"]
# The store comes from SPECGATE_STORE (postgres://... or sqlite:/data/specgate.db on a volume).
CMD ["serve", "--host", "0.0.0.0", "--port", "3000"]

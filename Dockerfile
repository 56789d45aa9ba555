# Herald in a container: `herald serve` on port 8080, the SQLite log in the /data volume.
#   docker build -t herald .
#   docker run -p 8080:8080 -v herald-data:/data herald
#   docker run -p 8080:8080 herald serve --storage memory      # flags after the image name
# Settings: the HERALD_* environment variables (docker run -e HERALD_API_KEYS=...), see the README.
# The development machines have no container engine, so this file is not built there: kept plain.

# Build stage: compile the TypeScript, pack the workspace, install the tarballs as a user would.
FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles from source when no prebuilt binary fits this Node and libc.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json ./
COPY scripts ./scripts
COPY packages ./packages
RUN npm ci --no-audit --no-fund
RUN npx tsc -b packages/cli packages/service && npm run build -w @herald/console \
  && node scripts/pack.mjs --out /tarballs
WORKDIR /app
RUN echo '{"name":"herald-app","private":true}' > package.json \
  && npm install --omit=dev --no-audit --no-fund /tarballs/*.tgz

# Run stage: Node and the installed packages only, no compiler, no sources of the build.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
  HERALD_HOST=0.0.0.0 \
  HERALD_PORT=8080 \
  HERALD_DATA_DIR=/data
COPY --from=build /app /app
# The image's `node` user (uid 1000) owns the data directory; the server never runs as root.
RUN mkdir /data && chown node:node /data
USER node
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.HERALD_PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# herald handles SIGTERM itself (docker stop): it drains, flushes the log and exits 0.
ENTRYPOINT ["/app/node_modules/.bin/herald"]
CMD ["serve"]

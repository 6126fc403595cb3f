# zeek-log-gateway container image.
#
#   docker build -t zeek-log-gateway .
#   docker run --rm -p 9275:9275 -p 5560:5560 \
#     -v "$PWD/my-config.json:/etc/zeek-log-gateway/config.json:ro" zeek-log-gateway
#
# Two stages: the first compiles the TypeScript with the dev dependencies, the second holds only
# the production dependencies and dist/. zeromq ships prebuilt native binaries for glibc x64 and
# arm64 inside its npm package, so no compiler is needed; its install script only checks that a
# prebuilt one loads (and otherwise tries to compile from source), so it is skipped
# (--ignore-scripts, which also skips this package's own `prepare` = tsc) and the addon is loaded
# once at build time instead: the build fails here, not at run time, on a platform without one.
# Both Kafka clients (@platformatic/kafka, the default, and kafkajs) are pure JavaScript.
# Deployment guide: docs/deployment.md.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
# MALLOC_ARENA_MAX: fewer glibc arenas, less fragmentation from libzmq's and Node's threads (docs/deployment.md, Sizing).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    ZLG_HTTP_HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && node -e "require('zeromq'); console.log('zeromq addon loads')" \
 && npm cache clean --force
COPY --from=build /src/dist ./dist
# config/default.json is always loaded first (from /app/config); the container configuration
# (compose hostnames, every listener on 0.0.0.0) is the default --config. Mount your own over
# /etc/zeek-log-gateway/config.json, or override single settings with ZLG_* variables.
COPY config ./config
COPY config/docker.json /etc/zeek-log-gateway/config.json
# The sinks' disk spool (config/docker.json): owned by the gateway's user, so that a volume
# mounted here (docker-compose.yml: gateway-spool) starts out writable for it.
RUN install -d -o node -g node /var/spool/zeek-log-gateway

USER node
# HTTP (/metrics, /healthz, /readyz), cluster PULL ingress, NCSA SUB ingress.
EXPOSE 9275 5560 12345
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.ZLG_HTTP_PORT||9275)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["run", "--config", "/etc/zeek-log-gateway/config.json"]

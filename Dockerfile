# One image for every Berth process; docker-compose.yml picks the app with `command`.
# Node 26: the active LTS line since 2026-10-28 (Node 20 reached end of life in April 2026).
# Berth needs Node >= 20.15 (node:zlib crc32); CI tests on Node 20.
FROM node:26-slim AS build
WORKDIR /berth
RUN npm install -g pnpm@12.4.2
COPY . .
ENV TURBO_TELEMETRY_DISABLED=1
RUN pnpm install --frozen-lockfile && pnpm build

FROM node:26-slim
WORKDIR /berth
COPY --from=build /berth /berth
# `berth` (the CLI) on the PATH: `docker compose exec worker-http berth sink status`.
RUN chmod +x apps/cli/dist/main.js && ln -s /berth/apps/cli/dist/main.js /usr/local/bin/berth
ENV NODE_ENV=production
USER node

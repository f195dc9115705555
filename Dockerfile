# One image for every Berth process; docker-compose.yml picks the app with `command`.
FROM node:20-bookworm-slim AS build
WORKDIR /berth
RUN npm install -g pnpm@12.4.2
COPY . .
RUN pnpm install --frozen-lockfile && pnpm build

FROM node:20-bookworm-slim
WORKDIR /berth
COPY --from=build /berth /berth
ENV NODE_ENV=production
USER node

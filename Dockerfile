# One image for both the API and the worker; docker-compose.yml picks the command.
# Build stage: every dependency, then TypeScript → JavaScript (npm run build, scripts/build.ts).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

# Runtime: production dependencies and the built JavaScript only (no TypeScript sources, tsx,
# test or build tooling). NODE_ENV=production: the processes refuse to start without strong
# secrets, an https PUBLIC_URL and external MongoDB and Temporal.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
CMD ["node", "dist/api.js"]

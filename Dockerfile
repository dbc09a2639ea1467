# One image for the coordinator and the agents of docker-compose.yml (a local trial of portcheck).
FROM node:20-bookworm-slim
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npm run build

# modeltap, built from this repository.
FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json tsconfig.view.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
COPY view ./view
RUN npx tsc -p tsconfig.build.json && npx tsc -p tsconfig.view.json && npm prune --omit=dev

FROM node:24.22.3-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# What the npm package ships (package.json "files"): the shipped price table and the live view's
# page and scripts are read at run time, next to dist.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/view/static ./view/static
COPY prices ./prices
USER node
EXPOSE 8787
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]

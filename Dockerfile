# syntax=docker/dockerfile:1
#
# Tongban (通办) server image.
#   docker build -t tongban .
#   docker run -p 8080:8080 -v tongban-data:/var/lib/tongban tongban
# See docker-compose.yml for the full stack (PostgreSQL + S3-compatible storage).

ARG RUST_VERSION=1.95
ARG NODE_VERSION=20

# ---- Rust build ----
FROM rust:${RUST_VERSION}-bookworm AS server-build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY backend ./backend
# target/ is a cache mount, so the binary is copied out within the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p tongban-server --bin tongban \
    && install -D -m 0755 target/release/tongban /out/tongban

# ---- Frontend build (only if the build context has frontend/package.json) ----
FROM node:${NODE_VERSION}-bookworm-slim AS frontend-build
WORKDIR /src
# The whole context is copied so this stage works whether frontend/ exists or not.
COPY . .
# /out/ ends up holding frontend/dist/... when there is a frontend, and nothing otherwise.
# hadolint ignore=DL3003
RUN --mount=type=cache,target=/root/.npm \
    mkdir -p /out \
    && if [ -f frontend/package.json ]; then \
         cd frontend \
         && npm ci \
         && npm run build \
         && mkdir -p /out/frontend \
         && cp -a dist /out/frontend/dist; \
       else \
         echo "no frontend/package.json; skipping frontend build"; \
       fi

# ---- Runtime ----
FROM debian:bookworm-slim
# hadolint ignore=DL3008
# fonts-noto-cjk: the fallback for characters outside the shipped GB 2312 font (生僻字 in names).
# postgresql-client (15): pg_dump/pg_restore for `tongban backup` and `tongban restore`; it matches
# the PostgreSQL 15 of docker-compose.yml (pg_dump refuses newer servers).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates fonts-noto-cjk postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tongban \
    && useradd --system --uid 10001 --gid tongban --home-dir /var/lib/tongban \
         --no-create-home --shell /usr/sbin/nologin tongban \
    && mkdir -p /var/lib/tongban \
    && chown tongban:tongban /var/lib/tongban
WORKDIR /app
COPY --from=server-build /out/tongban /usr/local/bin/tongban
# Copies /app/frontend/dist if the frontend was built; otherwise copies nothing.
COPY --from=frontend-build /out/ /app/
# glibc's malloc: two arenas and large blocks (argon2id's 19 MiB) mapped and returned on free;
# without them the server kept 335–790 MiB after load, with them 169 MiB (docs/benchmarks.md).
ENV MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    TONGBAN_LISTEN=0.0.0.0:8080 \
    TONGBAN_DATA_DIR=/var/lib/tongban \
    TONGBAN_PDF__FALLBACK_FONT=/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc \
    TONGBAN_PDF__FALLBACK_FONT_INDEX=2
VOLUME /var/lib/tongban
EXPOSE 8080
# Numeric, so runtimes that enforce non-root (runAsNonRoot) can verify it.
USER 10001:10001
CMD ["tongban", "serve"]

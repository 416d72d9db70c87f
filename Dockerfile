# naervaer in a container: `docker build -t naervaer .`, then
#   docker run -e NAERVAER_SECRET_KEY=$(docker run --rm naervaer secret) \
#              -e NAERVAER_BASE_URL=https://… -p 8080:8080 -v naervaer:/var/lib/naervaer naervaer
# Settings come from the environment (README, "Configuration"); compose.yaml
# runs it with PostgreSQL.

# libpq is built from its source into the binary (pq-sys' bundled
# feature); the image has OpenSSL's headers.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src src
COPY migrations migrations
COPY surveys surveys
COPY static static
COPY benches benches
RUN cargo build --release --locked \
 && strip target/release/naervaer

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/naervaer --create-home \
            --shell /usr/sbin/nologin naervaer
COPY --from=build /src/target/release/naervaer /usr/local/bin/naervaer
USER naervaer
WORKDIR /var/lib/naervaer
ENV NAERVAER_BIND=0.0.0.0:8080 \
    NAERVAER_DATABASE_URL=sqlite:///var/lib/naervaer/naervaer.db \
    NAERVAER_LOG_FORMAT=json
VOLUME /var/lib/naervaer
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["naervaer", "health"]
ENTRYPOINT ["naervaer"]
CMD ["serve"]

# syntax=docker/dockerfile:1
# flexus-traffic-monitor in a container: a build stage with the Rust toolchain, and a runtime stage
# with only the binary on distroless (glibc, CA certificates, no shell, no package manager), running
# as an unprivileged user. `serve` needs nothing else.
#
#   docker build -t flexus-traffic-monitor .
#   docker run --rm flexus-traffic-monitor --version
#
# A container cannot power off its host: use SHUTDOWN_MODE=huawei-api (stop through the ECS API)
# or SHUTDOWN_MODE=off, never `command`. deploy/compose/compose.yml runs the whole stack.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY benches ./benches
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release \
    && install -D -m 0755 target/release/flexus-traffic-monitor /out/usr/local/bin/flexus-traffic-monitor \
    && install -d -m 0750 /out/var/lib/flexus-traffic-monitor

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/usr/local/bin/flexus-traffic-monitor /usr/local/bin/flexus-traffic-monitor
# The state directory belongs to the image's unprivileged user; a named volume mounted here
# inherits that owner.
COPY --from=build --chown=65532:65532 /out/var/lib/flexus-traffic-monitor /var/lib/flexus-traffic-monitor
ENV STATE_DIR=/var/lib/flexus-traffic-monitor
WORKDIR /var/lib/flexus-traffic-monitor
USER 65532:65532
EXPOSE 9184
ENTRYPOINT ["/usr/local/bin/flexus-traffic-monitor"]
CMD ["serve"]

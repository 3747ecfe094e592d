# Assent in a container: the air-gapped server package (runtime, server bundle, static assets and
# the agent packages behind /downloads) on Debian, run as a non-root user, data in /data.
#
#   docker build -t assent .
#   docker run -p 8080:8080 -v assent-data:/data -e ASSENT_PUBLIC_URL=https://assent.example.com assent
#
# The build stage needs the npm registry (Deno and the agent runtimes come from it, each checked
# against the integrity pinned in scripts/); the image itself never downloads anything.
# AGENT_PLATFORMS trims the agent packages, e.g. --build-arg AGENT_PLATFORMS=linux-x64,windows-x64.

# Debian 13, the current stable release (bookworm left regular security support in June 2026).
ARG DEBIAN=debian:trixie-slim

# Build on the builder's own architecture; the server package is for the image's (TARGETARCH).
FROM --platform=$BUILDPLATFORM ${DEBIAN} AS build
ARG TARGETARCH
ARG AGENT_PLATFORMS=all
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/install_deno.sh scripts/install_deno.sh
RUN sh scripts/install_deno.sh /usr/local/bin/deno
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY . .
RUN case "${TARGETARCH:-$(uname -m)}" in \
      amd64 | x86_64) server=linux-x64 ;; \
      arm64 | aarch64) server=linux-arm64 ;; \
      *) echo "no server package for ${TARGETARCH}" >&2; exit 1 ;; \
    esac \
 && deno task package --platform "${AGENT_PLATFORMS}" --server "$server" \
      --out-dir /dist --downloads-dir /dist/downloads \
 && mkdir -p /opt/assent \
 && tar -xzf /dist/assent-*-"$server".tar.gz -C /opt/assent --strip-components=1 \
 && mkdir -p /data

FROM ${DEBIAN}
# ca-certificates: SMTP over TLS to a relay with a public certificate.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /home/assent --shell /usr/sbin/nologin assent
COPY --from=build /opt/assent /opt/assent
COPY --from=build --chown=assent:assent /data /data
ENV ASSENT_HOST=0.0.0.0 \
    ASSENT_PORT=8080 \
    ASSENT_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
USER assent
WORKDIR /home/assent
# The runtime parses the bundle for its imports once and keeps what it found in its cache (here in
# /home/assent/.cache): done at build, so a new container's first start idles at ~70 MiB, not ~124.
RUN /opt/assent/assent help > /dev/null
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s \
  CMD ["/opt/assent/assent", "healthcheck"]
ENTRYPOINT ["/opt/assent/assent"]
CMD ["serve"]

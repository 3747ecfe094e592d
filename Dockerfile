# Multi-stage build: compile the single executable, then run it as a non-root user in a
# small image with /data as the volume for the database and the instance secret.
#
#   docker build -t assent .
#   docker run -p 8080:8080 -v assent-data:/data assent
#
# `deno compile` fetches the `denort` runtime on first use. On an air-gapped build host,
# put a denort binary next to this file and build with --build-arg DENORT_BIN=/src/denort.

FROM node:20-bookworm-slim AS build
ARG DENO_VERSION=2.9.6
ARG DENORT_BIN=
RUN npm install -g "deno@${DENO_VERSION}"
WORKDIR /src
COPY . .
RUN deno install --frozen \
 && DENORT_BIN="${DENORT_BIN}" deno task compile \
 && mkdir -p /data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/assent /usr/local/bin/assent
COPY --from=build --chown=65532:65532 /data /data
ENV ASSENT_HOST=0.0.0.0 \
    ASSENT_PORT=8080 \
    ASSENT_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
USER nonroot
HEALTHCHECK --interval=30s --timeout=3s CMD ["/usr/local/bin/assent", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/assent"]
CMD ["serve"]

# deskbridge container image: a static binary on an empty base image.
#
#   docker build -t deskbridge \
#     --build-arg VERSION="$(git describe --tags --always)" \
#     --build-arg COMMIT="$(git rev-parse HEAD)" .
#
#   docker run --rm -p 8080:8080 -p 9090:9090 \
#     -v "$PWD/deskbridge.yaml:/etc/deskbridge/deskbridge.yaml:ro" \
#     -v deskbridge-data:/var/lib/deskbridge \
#     -e DESKBRIDGE_SERVER_INTERNAL_ADDR=0.0.0.0:9090 \
#     deskbridge
#
# See docs/operations.md.

# --- build -------------------------------------------------------------------
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Pure Go (SQLite included): the binary needs no C library.
ENV CGO_ENABLED=0

# Dependencies first, so that this layer is reused while only our code changes.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/deskbridge ./cmd/deskbridge \
 && mkdir -p /out/data \
 && echo 'deskbridge:x:10001:10001:deskbridge:/var/lib/deskbridge:/sbin/nologin' > /out/passwd \
 && echo 'deskbridge:x:10001:' > /out/group

# --- run ---------------------------------------------------------------------
# Nothing but the binary, CA certificates (for the vendor APIs and Vault) and
# an unprivileged user: no shell, no package manager.
FROM scratch
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="deskbridge" \
      org.opencontainers.image.description="Bridge WhatsApp Business conversations with your helpdesk" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"

COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=build /out/passwd /etc/passwd
COPY --from=build /out/group /etc/group
COPY --from=build /out/deskbridge /usr/local/bin/deskbridge
# The working directory holds the SQLite file of a relative store.url such as
# sqlite://deskbridge.db; it belongs to the deskbridge user so the database can
# be created.
# Mount a volume here, or use PostgreSQL (store.url: postgres://...).
COPY --from=build --chown=10001:10001 /out/data /var/lib/deskbridge

USER 10001:10001
WORKDIR /var/lib/deskbridge

# 8080: public listener (server.public_addr, webhooks).
# 9090: internal listener (server.internal_addr: /metrics, /livez, /readyz).
# The internal listener defaults to 127.0.0.1:9090, which cannot be reached from
# outside the container: set server.internal_addr to 0.0.0.0:9090 (for example
# DESKBRIDGE_SERVER_INTERNAL_ADDR=0.0.0.0:9090) so that probes and Prometheus
# can reach it from outside the pod.
EXPOSE 8080 9090

# Mount the configuration at /etc/deskbridge/deskbridge.yaml. SIGTERM triggers a
# graceful shutdown (see docs/operations.md#shutdown).
ENTRYPOINT ["deskbridge"]
CMD ["serve", "--config", "/etc/deskbridge/deskbridge.yaml"]

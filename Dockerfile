# aci-exporter container image: a static binary on distroless/static, run as a
# non-root user (node_exporter and kube-state-metrics practice). From the
# repository root:
#
#   make docker        (or: docker build -t aci-exporter .)
#   docker run -p 9648:9648 \
#     -v /path/to/aci-exporter.yml:/etc/aci-exporter/aci-exporter.yml:ro aci-exporter
#
# deploy/image_test.go builds this file's final stage offline (an empty base
# plus the binary) and checks its config: keep the final stage to the
# instructions it reads (ARG, LABEL, COPY, USER, EXPOSE, ENTRYPOINT, CMD).

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# make build: static (CGO_ENABLED=0), version stamped from VERSION and git.
RUN GOOS=${TARGETOS} GOARCH=${TARGETARCH} make build BINARY=/out/aci-exporter

# CA certificates, tzdata and the nonroot user (65532), nothing else.
FROM gcr.io/distroless/static:nonroot
ARG VERSION=unknown
ARG REVISION=unknown
LABEL org.opencontainers.image.title="aci-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Cisco ACI: the APIC's websocket event streams as metrics" \
      org.opencontainers.image.url="https://github.com/aci-exporter/aci-exporter" \
      org.opencontainers.image.source="https://github.com/aci-exporter/aci-exporter" \
      org.opencontainers.image.documentation="https://github.com/aci-exporter/aci-exporter#readme" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/aci-exporter /bin/aci-exporter
USER 65532:65532
EXPOSE 9648
ENTRYPOINT ["/bin/aci-exporter"]
CMD ["--config.file=/etc/aci-exporter/aci-exporter.yml"]

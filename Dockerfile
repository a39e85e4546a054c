# Multi-stage build: a static bridge (and the mock agent) on a slim runtime
# that runs as a non-root user. INSTALL_CLAUDE=true installs the Claude Code
# CLI with npm.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/bridge ./cmd/bridge \
 && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/mockcli ./mockcli

FROM debian:bookworm-slim
ARG INSTALL_CLAUDE=true
ARG CLAUDE_CODE_VERSION=2.1.332
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git tini \
 && if [ "$INSTALL_CLAUDE" = "true" ]; then \
      apt-get install -y --no-install-recommends nodejs npm \
      && npm install -g "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" \
      && npm cache clean --force; \
    fi \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --home-dir /home/agent --uid 10001 hotline \
 && mkdir -p /var/lib/hotline /work \
 && chown hotline:hotline /var/lib/hotline /work /home/agent
COPY --from=build /out/bridge /out/mockcli /usr/local/bin/
USER hotline
ENV HOTLINE_DATA_DIR=/var/lib/hotline HOTLINE_WORKDIR=/work HOME=/home/agent
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/bridge"]

# loomsched in a FROM-scratch image: the NativeAOT binary, glibc, CA certificates, tzdata and an
# unprivileged user; no shell, no package manager. packaging/rootfs.sh assembles the final file system and
# is the single list of what goes in: ./build.sh image-rootfs runs the same script without Docker (into
# artifacts/rootfs), and the end-to-end tests run the binary inside that tree with chroot.
#
#   docker build -t loomsched .                                                  # this machine's architecture
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/loomsched --push .   # both
#   docker run -d --name loomsched \
#     -v "$PWD/scheduler.yaml:/etc/loomsched/scheduler.yaml:ro" \
#     -e NATS_URL=nats://nats-leaf:4222 -e LOOMSCHED_NAME=edge_scheduler loomsched

# For each platform the build stage runs on that platform's SDK image (BuildKit emulates arm64 with QEMU on an
# x86-64 builder: slower, but the same packages and script as a native build), and rootfs.sh is told the
# architecture. (./build.sh image-rootfs arm64 cross-builds the same arm64 tree on x86-64 Debian without Docker.)
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TARGETARCH
# NativeAOT links with clang and zlib; the image's build links OpenSSL in statically (cmake, make and
# libssl-dev build the shim); the CA bundle and tzdata are copied from this stage. tzdata-legacy, where the
# distribution splits it off, keeps the old zone names (US/Eastern, ...) that Debian 12's tzdata still has.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      clang zlib1g-dev cmake make libssl-dev ca-certificates tzdata \
      $(apt-cache show tzdata-legacy >/dev/null 2>&1 && echo tzdata-legacy) \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN packaging/rootfs.sh ${TARGETARCH:+--arch "$TARGETARCH"} /rootfs

FROM scratch
COPY --from=build /rootfs/ /
# loomsched:loomsched in the image's /etc/passwd and /etc/group; numeric, so that runAsNonRoot can check it.
USER 65532:65532
ENV LOOMSCHED_CONFIG=/etc/loomsched/scheduler.yaml
ENTRYPOINT ["/loomsched"]
CMD ["run"]
# Asks the daemon over NATS (NATS_URL) under the scheduler name in LOOMSCHED_NAME: set both with -e.
# Exit 0 only if the daemon answers; a daemon that is down or hung, or NATS out of reach, is unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 CMD ["/loomsched", "status"]

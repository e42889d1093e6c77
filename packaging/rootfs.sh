#!/usr/bin/env bash
# The file system of loomsched's FROM-scratch image, in one place. The Dockerfile's build stage runs
# this script and copies its output into `FROM scratch`; `./build.sh image-rootfs` runs the same script
# without Docker (into artifacts/rootfs), and the end-to-end tests run the binary inside it with chroot.
#
#   packaging/rootfs.sh [--arch ARCH] DEST          publish the image's build of loomsched, then assemble DEST
#   packaging/rootfs.sh [--arch ARCH] DEST BINARY   assemble DEST around an already published BINARY
#
# ARCH is x64 or arm64 (Docker's TARGETARCH spells them amd64 and arm64), by default this machine's. Built on
# its own architecture the tree is assembled as it always was; arm64 on an x86-64 Debian machine is cross-built
# (clang, lld, Debian's arm64 cross glibc, and libssl-dev:arm64 and libc6:arm64 from its multiarch archive).
#
# DEST receives exactly this, and nothing else:
#   /loomsched                              the NativeAOT binary
#   the libraries `ldd /loomsched` lists    glibc: libc.so.6, libm.so.6 and the loader (of the target architecture)
#   /etc/ssl/certs/ca-certificates.crt      CA certificates (OpenSSL's default file and directory point here)
#   /usr/share/zoneinfo/                    tzdata: the zones (recompiled slim from tzdata.zi) and zone.tab, without
#                                           the right/ and posix/ copies, the source or the leap-second tables
#   /etc/passwd, /etc/group                 root and the unprivileged user loomsched (65532:65532)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
case "$(uname -m)" in x86_64) HOST_ARCH=x64 ;; aarch64) HOST_ARCH=arm64 ;; *) HOST_ARCH=$(uname -m) ;; esac
ARCH=$HOST_ARCH
if [ "${1:-}" = --arch ]; then
  case "${2:-}" in x64|amd64) ARCH=x64 ;; arm64) ARCH=arm64 ;; *) echo "rootfs: --arch x64 or arm64, not \"${2:-}\"" >&2; exit 2 ;; esac
  shift 2
fi
DEST=${1:?usage: packaging/rootfs.sh [--arch x64|arm64] DEST [BINARY]}
BINARY=${2:-}
CROSS=""
if [ "$ARCH" != "$HOST_ARCH" ]; then
  [ "$HOST_ARCH/$ARCH" = x64/arm64 ] || { echo "rootfs: cannot build $ARCH on $HOST_ARCH" >&2; exit 1; }
  CROSS=aarch64-linux-gnu
fi

# The image's own build of the daemon. Two differences from ./build.sh's artifacts/loomsched, both for size
# (the image must stay under 20 MB): OpenSSL is linked in statically, so the image needs no libssl.so.3 and
# libcrypto.so.3 (5.4 MB; the default binary dlopens them for TLS, which ldd does not show, and without them
# runs only without TLS: src/LoomSched/Native/openssl_optional.c); and the code is optimised for size (-1.3 MB; a scheduler sleeps
# between fires), with the feature switches for metrics, nullability info and HTTP activity propagation off
# (nothing in loomsched uses them; -75 KB). Edge hosts get the default binary, linked against the host's OpenSSL and its updates.
# Static OpenSSL linking needs cmake and libssl-dev at build time.
IMAGE_PUBLISH_PROPERTIES=(-p:StaticOpenSslLinking=true -p:OptimizationPreference=Size -p:MetricsSupport=false -p:NullabilityInfoContextSupport=false -p:HttpActivityPropagationSupport=false)
IMAGE_UID=65532

log() { printf '==> %s\n' "$*" >&2; }

if [ -z "$BINARY" ]; then
  build="$ROOT/artifacts/image-build"
  cross=()
  if [ -n "$CROSS" ]; then
    # As ./build.sh publishes linux-arm64; and the ILCompiler's shim build (cmake, with the C compiler NativeAOT
    # links with) compiles for the target through CFLAGS, against libssl-dev:arm64's headers, linked with lld.
    build="$ROOT/artifacts/image-build-arm64"
    cross=(-r linux-arm64 -p:SysRoot=/ -p:LinkerFlavor=lld -p:ObjCopyName=aarch64-linux-gnu-objcopy)
    export CFLAGS="--target=$CROSS" LDFLAGS="-fuse-ld=lld"
  fi
  # The runtime's OpenSSL shim, compiled here from its own source, has four casts the compiler calls unused values:
  # not ours to change, and not to be read as warnings of ours in the build's output.
  export CFLAGS="${CFLAGS:+$CFLAGS }-Wno-unused-value"
  out="$build/publish"
  log "publishing the image's build of loomsched for linux-$ARCH (static OpenSSL, size-optimised)"
  # A separate ArtifactsPath keeps this build from invalidating the default one in artifacts/build.
  # The ILCompiler's own shim build (build-local.sh) passes cmake a variable the shim does not use, and
  # MSBuild turns cmake's note about it into "EXEC : CMake warning"; that one line is dropped, nothing else.
  dotnet publish "$ROOT/src/LoomSched/LoomSched.csproj" -c Release -o "$out" -nologo -v:q -clp:NoSummary \
      "-p:ArtifactsPath=$build" "${IMAGE_PUBLISH_PROPERTIES[@]}" "${cross[@]}" 2>&1 \
    | { grep -v -E '^EXEC : CMake warning : +\[' || true; } >&2
  BINARY="$out/loomsched"
fi
[ -x "$BINARY" ] || { echo "rootfs: no executable at $BINARY" >&2; exit 1; }

rm -rf "$DEST"
mkdir -p "$DEST"
install -m 0755 "$BINARY" "$DEST/loomsched"

# Shared libraries: every path ldd resolves (the loader included), copied to the same path, symlinks followed.
if [ -z "$CROSS" ]; then
  libs=$(ldd "$BINARY" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
else
  # ldd runs the binary's own loader, which this machine cannot: the same list from the ELF headers, the loader
  # (PT_INTERP) and each needed library where Debian's arm64 multiarch glibc (libc6:arm64) puts it.
  loader=$(readelf -lW "$BINARY" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
  libs=$loader
  for needed in $(readelf -dW "$BINARY" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
    [ "$needed" = "$(basename "$loader")" ] && continue
    [ -e "/lib/$CROSS/$needed" ] || { echo "rootfs: /lib/$CROSS/$needed is missing: install libc6:arm64" >&2; exit 1; }
    libs="$libs /lib/$CROSS/$needed"
  done
  [ -e "$loader" ] || { echo "rootfs: $loader is missing: install libc6:arm64" >&2; exit 1; }
fi
for lib in $libs; do
  mkdir -p "$DEST$(dirname "$lib")"
  cp -L "$lib" "$DEST$lib"
  chmod 0755 "$DEST$lib"
done
if grep -q 'libssl\.so\.3' "$BINARY"; then
  echo "rootfs: $BINARY loads OpenSSL at run time (libssl.so.3 is not in ldd's list);" \
       "publish it with ${IMAGE_PUBLISH_PROPERTIES[*]}" >&2
  exit 1
fi

# CA certificates, where Debian and Ubuntu keep them, and OpenSSL's compiled-in default paths pointing there.
mkdir -p "$DEST/etc/ssl/certs"
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$DEST/etc/ssl/certs/ca-certificates.crt"
openssl_dir=$(grep -ao 'OPENSSLDIR: "[^"]*"' "$BINARY" | head -1 | sed 's/^OPENSSLDIR: "\(.*\)"$/\1/' || true)
openssl_dir=${openssl_dir:-/usr/lib/ssl}
if [ "$openssl_dir" != /etc/ssl ]; then
  mkdir -p "$DEST$openssl_dir"
  ln -s /etc/ssl/certs/ca-certificates.crt "$DEST$openssl_dir/cert.pem"
  ln -s /etc/ssl/certs "$DEST$openssl_dir/certs"
else
  ln -s certs/ca-certificates.crt "$DEST/etc/ssl/cert.pem"
fi

# tzdata. .NET reads zones from $TZDIR, else /usr/share/zoneinfo/, and lists them from zone.tab.
zoneinfo=${TZDIR:-/usr/share/zoneinfo}
mkdir -p "$DEST/usr/share"
if command -v zic >/dev/null && [ -f "$zoneinfo/tzdata.zi" ]; then
  # Compiled again from the distribution's own source in the "slim" form: the same zones and rules, without
  # the redundant 32-bit data and the precomputed future transitions that the footer rule already gives
  # (.NET reads that footer); a third smaller, which keeps the image under 20 MB.
  zic -b slim -d "$DEST/usr/share/zoneinfo" "$zoneinfo/tzdata.zi"
  install -m 0644 "$zoneinfo/zone.tab" "$DEST/usr/share/zoneinfo/zone.tab"
else
  cp -a "$zoneinfo" "$DEST/usr/share/zoneinfo"
fi
rm -rf "$DEST/usr/share/zoneinfo/"{right,posix,posixrules,localtime,tzdata.zi,leapseconds,leap-seconds.list,iso3166.tab,zone1970.tab,zonenow.tab,SECURITY}
# Links left dangling by what was removed would fail at run time: none may remain.
if dangling=$(find "$DEST/usr/share/zoneinfo" -xtype l) && [ -n "$dangling" ]; then
  echo "rootfs: dangling zone links: $dangling" >&2
  exit 1
fi

# Users: the image runs as loomsched (USER 65532:65532 in the Dockerfile), never as root.
printf 'root:x:0:0:root:/root:/sbin/nologin\nloomsched:x:%s:%s:loomsched:/:/sbin/nologin\n' "$IMAGE_UID" "$IMAGE_UID" >"$DEST/etc/passwd"
printf 'root:x:0:\nloomsched:x:%s:\n' "$IMAGE_UID" >"$DEST/etc/group"
chmod 0644 "$DEST/etc/passwd" "$DEST/etc/group"

bytes=$(find "$DEST" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
log "rootfs: $(find "$DEST" -type f | wc -l) files, $bytes bytes ($(awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }'))"

#!/usr/bin/env bash
# Builds the zkr container image with buildah, FROM scratch and without a registry: the binaries (zkr-node,
# zkr-coordinator, zkr-prover, zkr-prove, zkr-healthcheck), exactly the shared libraries they link (read from
# ldd), a non-root user (10001), OCI labels and a health check. See deploy/README.md.
#
#   scripts/images.sh build [--profile release|debug] [--tag TAG] [--archive FILE]
#       cargo build of the binaries, then the image zkr:TAG (default: the workspace version) in buildah's local
#       store; --archive also writes it as a docker-archive tarball (`docker load -i FILE`, `podman load -i FILE`).
#   scripts/images.sh ... --no-build
#       packs the binaries already in target/<profile> (built by the caller) instead of building them.
#   scripts/images.sh rootfs [--profile ...] [--tag TAG] DIR
#       build, then unpack the committed image's layers into DIR: the image's own file system, which
#       e2e/tests/image.rs runs the binaries from (chroot), as `podman run` cannot run here.
#
# The prover carries no CUDA library: cudarc opens libcuda at run time, which the NVIDIA container runtime mounts
# from the host (NVIDIA_VISIBLE_DEVICES / NVIDIA_DRIVER_CAPABILITIES are set for it); without it the worker runs on
# the CPU backend and says so. File times and the image's creation time are the commit's, so the same binaries give
# the same layer digest (the docker-format config still records the build container's id).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

command=${1:-}
shift || true
profile=release
tag=
archive=
dest=
build=1
while (($#)); do
  case $1 in
    --profile) profile=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --archive) archive=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) dest=$1; shift ;;
  esac
done
case $command in
  build | rootfs) ;;
  *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
[[ $command == rootfs && -z $dest ]] && { echo "rootfs needs a destination folder" >&2; exit 2; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tag=${tag:-$version}
image="zkr:$tag"
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)

if ! command -v buildah >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >/dev/null
fi

binaries=(zkr-node zkr-coordinator zkr-prover zkr-prove zkr-healthcheck)
cargo_profile=$profile
[[ $profile == debug ]] && cargo_profile=dev
build_args=()
for bin in "${binaries[@]}"; do build_args+=(--bin "$bin"); done
if [[ $build == 1 ]]; then
  echo "==> cargo build --profile $cargo_profile ${build_args[*]}"
  cargo build --locked --profile "$cargo_profile" "${build_args[@]}"
else
  # The caller built them (scripts/test.sh: every target at once). Building only the binaries here would resolve the
  # dependencies' features without the tests' dev-dependencies and compile some of them a second time.
  for bin in "${binaries[@]}"; do
    [[ -x ${CARGO_TARGET_DIR:-$root/target}/$profile/$bin ]] || { echo "--no-build: $bin was not built" >&2; exit 1; }
  done
fi
target=${CARGO_TARGET_DIR:-$root/target}
bindir=$target/$profile

work=$target/image
stage=$work/stage
rm -rf "$stage"
mkdir -p "$stage"/{usr/local/bin,etc,tmp,var/lib/zkr}
chmod 1777 "$stage/tmp"

# The binaries, without their debug sections (release keeps line tables for backtraces only in the build folder).
for bin in "${binaries[@]}"; do
  objcopy --strip-debug "$bindir/$bin" "$stage/usr/local/bin/$bin"
done
# Every shared library they link, at the path the dynamic loader looks for it, and the loader itself.
libs=$(for bin in "${binaries[@]}"; do ldd "$bindir/$bin"; done | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
for lib in $libs; do
  mkdir -p "$stage$(dirname "$lib")"
  cp -L "$lib" "$stage$lib"
done
# Names and groups for the non-root user; host resolution order; CA certificates for TLS to L1 endpoints.
printf 'root:x:0:0:root:/root:/sbin/nologin\nzkr:x:10001:10001:zkr:/var/lib/zkr:/sbin/nologin\n' >"$stage/etc/passwd"
printf 'root:x:0:\nzkr:x:10001:\n' >"$stage/etc/group"
printf 'hosts: files dns\n' >"$stage/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$stage/etc/hosts"
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
  mkdir -p "$stage/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$stage/etc/ssl/certs/"
fi
chown -R 10001:10001 "$stage/var/lib/zkr"
find "$stage" -exec touch -h -d "@$epoch" {} +
tar --sort=name --numeric-owner --mtime="@$epoch" -C "$stage" -cf "$work/rootfs.tar" .

echo "==> buildah: $image"
ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
buildah add "$ctr" "$work/rootfs.tar" / >/dev/null
buildah config \
  --user 10001:10001 \
  --workingdir /var/lib/zkr \
  --env PATH=/usr/local/bin \
  --env NVIDIA_VISIBLE_DEVICES=all \
  --env NVIDIA_DRIVER_CAPABILITIES=compute,utility \
  --port 8547 --port 9101 --port 50051 --port 9102 --port 9103 \
  --volume /var/lib/zkr \
  --label org.opencontainers.image.title=zkr \
  --label "org.opencontainers.image.description=zkr rollup: zkr-node, zkr-coordinator, zkr-prover (CPU or CUDA GPU), zkr-prove" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.created=$created" \
  --label "org.opencontainers.image.licenses=MIT OR Apache-2.0" \
  --label "org.opencontainers.image.source=https://github.com/zkr/zkr" \
  --healthcheck 'CMD /usr/local/bin/zkr-healthcheck http://127.0.0.1:8547/healthz http://127.0.0.1:9102/healthz http://127.0.0.1:9103/metrics' \
  --healthcheck-interval 30s --healthcheck-timeout 10s --healthcheck-start-period 120s --healthcheck-retries 3 \
  "$ctr"
# The docker format keeps HEALTHCHECK (the OCI image format has no field for it); runtimes take either.
buildah commit --quiet --format docker --timestamp "$epoch" "$ctr" "$image" >/dev/null
echo "==> $image built ($(du -sh "$stage" | cut -f1) unpacked; binaries from $bindir)"

if [[ -n $archive ]]; then
  rm -f "$archive"
  buildah push --quiet "$image" "docker-archive:$archive:$image"
  echo "==> $archive ($(du -h "$archive" | cut -f1))"
fi

if [[ $command == rootfs ]]; then
  # Unpack what was committed, not the staging folder: the check runs the image's own file system.
  rm -rf "$work/oci" "$dest"
  buildah push --quiet "$image" "oci:$work/oci:$tag"
  mkdir -p "$dest"
  manifest=$(jq -r '.manifests[0].digest' "$work/oci/index.json" | sed 's/^sha256://')
  for layer in $(jq -r '.layers[].digest' "$work/oci/blobs/sha256/$manifest" | sed 's/^sha256://'); do
    tar --numeric-owner -xf "$work/oci/blobs/sha256/$layer" -C "$dest"
  done
  echo "==> $dest: the image's root file system"
fi

#!/usr/bin/env bash
# Every check CI runs, cheapest first; the README's test command. Installs what it needs by itself.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

started=$SECONDS
# A cold build gains nothing from incremental compilation and pays for its caches; a developer may set it back.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
step() {
  printf '\n==> %s (%ss elapsed)\n' "$1" "$((SECONDS - started))"
}

step "toolchain (scripts/setup.sh)"
# Debian packages the checks use where the machine lacks them: jq reads the forge artifacts (scripts/contracts.sh),
# python3 and curl fetch and patch zkevm-hashes (scripts/vendor.sh), g++ preprocesses for nvcc (scripts/kernels.sh)
# and builds the kernel emulator (kernels/build.rs, scripts/emulator-sanitize.sh, with its libasan),
# chromium renders the coordinator's status page in a test (coordinator/tests/it/http.rs), which fails rather
# than skips when ZKR_REQUIRE_CHROMIUM is set, and postgresql serves the coordinator's shared-store tests
# (scripts/postgres.sh), which fail rather than skip when ZKR_REQUIRE_POSTGRES is set; buildah builds the container
# image (scripts/images.sh).
missing=()
for cmd in jq python3 curl g++ chromium buildah; do
  command -v "$cmd" >/dev/null || missing+=("$cmd")
done
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if ((${#missing[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
export ZKR_REQUIRE_CHROMIUM=1
# PyYAML reads deploy/'s compose and provisioning files (scripts/check-deploy.py).
python3 -c 'import yaml' 2>/dev/null ||
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore pyyaml==6.0.3
./scripts/setup.sh
# The pinned client libraries (ethers, viem, web3.py) the node's client tests run (node/tests/it/clients.rs), which
# fail rather than skip when ZKR_REQUIRE_CLIENTS is set.
./scripts/clients.sh
export ZKR_REQUIRE_CLIENTS=1
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest@0.9.143
fi

step "format"
cargo fmt --all --check
(cd contracts && ../.tools/bin/forge fmt --check)

step "contract artifacts are up to date"
./scripts/contracts.sh --check

step "CUDA kernels: the committed fatbin equals a fresh build (scripts/kernels.sh --check)"
./scripts/kernels.sh --check

step "deploy/: compose, Prometheus and Grafana files (scripts/check-deploy.py)"
python3 scripts/check-deploy.py

step "deploy/helm: the chart rendered with Helm's template semantics and validated (scripts/check-chart.sh)"
./scripts/check-chart.sh

step "deploy/terraform: parsed and statically checked (scripts/check-terraform.sh)"
./scripts/check-terraform.sh

step "forge tests (unit, fuzz, invariants)"
(cd contracts && ../.tools/bin/forge test)

step "clippy, in the build the tests run (every target, warnings denied)"
# clippy-driver compiles the workspace's own crates in place of rustc: it lints them as `cargo clippy --workspace
# --all-targets -- -D warnings` does and also generates their code, so the tests reuse this build. A separate
# `cargo clippy` would first check every dependency without code generation: about ten minutes on a cold CI machine
# for nothing the tests can use. CLIPPY_ARGS is how cargo-clippy hands its arguments to the driver. Every later cargo
# call (images.sh, nextest, the tests' own builds, emulator-sanitize.sh) inherits both, so none rebuilds.
RUSTC_WORKSPACE_WRAPPER="$(rustc --print sysroot)/bin/clippy-driver"
export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
cargo build --workspace --all-targets --locked

step "PostgreSQL test server (scripts/postgres.sh)"
eval "$(./scripts/postgres.sh start)"
export ZKR_REQUIRE_POSTGRES=1
trap './scripts/postgres.sh stop' EXIT

step "container image: built from scratch with buildah, unpacked for e2e/tests/image.rs (scripts/images.sh)"
# The debug binaries the step above built. e2e/tests/image.rs runs each from the image's own file system, and the
# cluster tests run their coordinators and workers from it.
./scripts/images.sh rootfs --profile debug --no-build target/image/root
export ZKR_IMAGE_ROOT="$root/target/image/root" ZKR_REQUIRE_IMAGE=1

step "cargo nextest"
cargo nextest run --workspace --locked --profile ci

step "CUDA kernels under ASan + UBSan on the kernel emulator (scripts/emulator-sanitize.sh)"
./scripts/emulator-sanitize.sh

step "all checks passed"

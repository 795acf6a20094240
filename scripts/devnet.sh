#!/usr/bin/env bash
# The project's main command: installs the pinned toolchain if needed, builds the devnet and the proving cluster's
# binaries, and starts the local devnet (see `zkr-devnet --help` for its options, which this script passes through).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
./scripts/setup.sh
# The dev profile builds the proving stack at full optimization (Cargo.toml), so the CPU workers prove at speed.
cargo build --quiet --locked -p zkr-devnet -p zkr-coordinator -p zkr-gpu-prover
exec "${CARGO_TARGET_DIR:-target}/debug/zkr-devnet" "$@"

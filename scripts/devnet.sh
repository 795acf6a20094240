#!/usr/bin/env bash
# The project's main command: installs the pinned toolchain if needed, builds, and starts the local devnet
# (see `zkr-devnet --help` for its options, which this script passes through).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
./scripts/setup.sh
exec cargo run --quiet -p zkr-devnet -- "$@"

#!/usr/bin/env bash
# Every check CI runs, cheapest first; the README's test command. Installs what it needs by itself.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

started=$SECONDS
step() {
  printf '\n==> %s (%ss elapsed)\n' "$1" "$((SECONDS - started))"
}

step "toolchain (scripts/setup.sh)"
./scripts/setup.sh
# jq reads the forge artifacts in scripts/contracts.sh; Debian's package where the machine lacks it.
if ! command -v jq >/dev/null; then
  apt-get update -qq && apt-get install -y -qq jq
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest@0.9.143
fi

step "format"
cargo fmt --all --check
(cd contracts && ../.tools/bin/forge fmt --check)

step "contract artifacts are up to date"
./scripts/contracts.sh --check

step "forge tests (unit, fuzz, invariants)"
(cd contracts && ../.tools/bin/forge test)

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo nextest"
cargo nextest run --workspace --locked --profile ci

step "all checks passed"

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
# Debian packages the scripts use where the machine lacks them: jq reads the forge artifacts (scripts/contracts.sh),
# python3 and curl fetch and patch zkevm-hashes (scripts/vendor.sh).
missing=()
for cmd in jq python3 curl; do
  command -v "$cmd" >/dev/null || missing+=("$cmd")
done
if ((${#missing[@]})); then
  apt-get update -qq && apt-get install -y -qq "${missing[@]}"
fi
./scripts/setup.sh
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

#!/usr/bin/env bash
# Builds the L1 contracts and exports what the Rust bindings embed (ABI and bytecode) into
# contracts/bindings/artifacts/. The exported files are committed, so `cargo build` never needs the npm toolchain.
#
#   scripts/contracts.sh           build and export
#   scripts/contracts.sh --check   build and fail if the committed artifacts are stale (CI runs this)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="${ZKR_TOOLS_DIR:-$root/.tools}"
committed="$root/contracts/bindings/artifacts"
contracts=(Rollup OptimisticRollup Portal BatchVerifier)

[[ -x $tools/bin/forge ]] || { echo "contracts: forge not found in $tools: run scripts/setup.sh" >&2; exit 1; }
command -v jq >/dev/null || { echo "contracts: jq is required" >&2; exit 1; }

(cd "$root/contracts" && "$tools/bin/forge" build --skip test --quiet)

dest="$committed"
if [[ ${1:-} == --check ]]; then
  dest=$(mktemp -d)
  trap 'rm -rf "$dest"' EXIT
fi
mkdir -p "$dest"
for name in "${contracts[@]}"; do
  jq -S '{abi, bytecode: {object: .bytecode.object}, deployedBytecode: {object: .deployedBytecode.object}}' \
    "$root/contracts/out/$name.sol/$name.json" >"$dest/$name.json"
done

if [[ ${1:-} == --check ]]; then
  if ! diff -r "$committed" "$dest" >/dev/null; then
    echo "contracts: contracts/bindings/artifacts is stale: run scripts/contracts.sh and commit the result" >&2
    exit 1
  fi
  echo "contracts: committed artifacts match the sources"
fi
for name in "${contracts[@]}"; do
  size=$(jq -r '.deployedBytecode.object' "$dest/$name.json" | wc -c)
  echo "contracts: $name runtime size $(((size - 3) / 2)) bytes (limit 24576)"
done

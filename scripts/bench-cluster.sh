#!/usr/bin/env bash
# Commit-to-finalize latency of the proving cluster with 1, 2 and 4 CPU workers (docs/perf.md): runs the devnet once
# per worker count with the same load, until a number of batches are finalized on L1, and prints each run's
# per-batch table (from the coordinator's status) and a summary line.
#
#   scripts/bench-cluster.sh [--workers "1 2 4"] [--batches 3] [--txs 6]
#
# Each run starts from an empty chain; keys are shared through .zkr/keys (made on first use). The devnet's ports
# (8545, 8547, 9101-9106, 50051) must be free.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

workers="1 2 4"
batches=3
txs=6
while (($#)); do
  case "$1" in
    --workers) workers=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --txs) txs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

./scripts/setup.sh
cargo build --quiet --locked -p zkr-devnet -p zkr-coordinator -p zkr-gpu-prover
devnet="${CARGO_TARGET_DIR:-target}/debug/zkr-devnet"
out=$(mktemp -d)
summary=()
for n in $workers; do
  echo "==> $n worker(s): until $batches batches are finalized ($txs transfers, one every 500 ms)"
  started=$SECONDS
  "$devnet" --workers "$n" --exit-after-finalized "$batches" --load.txs "$txs" --load.interval-ms 500 \
    --dir ".devnet-bench-$n" | tee "$out/$n.log"
  wall=$((SECONDS - started))
  mean=$(grep '^| mean |' "$out/$n.log" | tail -1 || true)
  summary+=("| $n | ${mean#| mean | } ${wall} s |")
done
echo
echo "| CPU workers | mean commit to proven | mean commit to finalized | devnet wall time |"
echo "|---:|---:|---:|---:|"
printf '%s\n' "${summary[@]}"

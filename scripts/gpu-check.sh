#!/usr/bin/env bash
# The hardware check: everything we know to ask of a real NVIDIA GPU, in one run that prints one table.
#
#   scripts/gpu-check.sh build [DIR]          here (no GPU needed): release builds of the test and bench binaries,
#                                             stripped, with the kernel emulator, into DIR (default target/gpu-check)
#   scripts/gpu-check.sh run [--quick] [DIR]  on the GPU machine, from the repository root: runs them from DIR
#
# `run` does, on device 0:
#   1. the device as nvidia-smi reports it (read only: no clocks, modes or resets are touched);
#   2. kernels/tests/gpu_diff.rs: every CUDA kernel against the CPU twins at full sizes (MSM up to 2^20, NTT up to
#      2^24, every edge case), and on the emulator at small sizes;
#   3. kernels/tests/halo2_scheme.rs: real halo2 proofs with every commitment on the GPU, checked by halo2's verifier;
#   4. the kernel bench: MSM and NTT at 2^16..2^24 on the GPU against the CPU twin and halo2curves / halo2-axiom;
#   5. the prover bench: a halo2 circuit proved with plain halo2, MsmKzg on the CPU twin and MsmKzg on the GPU;
#   6. the chunk-proof bench on the GPU backend (zkr-prover's proving bench, one production shape).
# It stops at nothing: each step's outcome goes in the table. Logs go to $OUT (the device tool's output folder) or
# DIR/out. --quick uses small sizes throughout (a dry run on a machine without a GPU, where the GPU rows are
# missing and say why). On an H100 the whole run is sized to finish within 10 minutes.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

mode=${1:-}
shift || true
quick=0
if [[ ${1:-} == --quick ]]; then
  quick=1
  shift
fi
dir=${1:-target/gpu-check}

build() {
  set -e
  mkdir -p "$dir"
  echo "gpu-check: building release test and bench binaries into $dir"
  local json
  json=$(mktemp)
  cargo test --release --locked -p zkr-kernels --test gpu_diff --test halo2_scheme --no-run --message-format=json >"$json"
  cargo bench --locked -p zkr-kernels --bench kernels --bench prover --no-run --message-format=json >>"$json"
  cargo bench --locked -p zkr-prover --bench proving --no-run --message-format=json >>"$json"
  for name in gpu_diff halo2_scheme kernels prover proving; do
    local exe
    exe=$(jq -r --arg n "$name" 'select(.reason == "compiler-artifact" and .target.name == $n and .executable != null)
      | .executable' "$json" | tail -1)
    [[ -x $exe ]] || { echo "gpu-check: no binary for $name" >&2; exit 1; }
    cp "$exe" "$dir/$name"
    strip "$dir/$name"
  done
  # The emulator library build.rs made (the tests load it by its build-time path, which the GPU machine lacks).
  local emu
  emu=$(ls -t target/release/build/zkr-kernels-*/out/libzkr_emu.so 2>/dev/null | head -1)
  [[ -f $emu ]] || { echo "gpu-check: no emulator library under target/release/build" >&2; exit 1; }
  cp "$emu" "$dir/libzkr_emu.so"
  rm -f "$json"
  du -sh "$dir"
  echo "gpu-check: carry $dir and run: scripts/gpu-check.sh run $dir"
}

# One row of the summary: step, outcome, seconds.
rows=()
step() { # <name> <log> <command...>
  local name=$1 log=$2 start=$SECONDS status
  shift 2
  echo "gpu-check: $name" >&2
  "$@" >"$log" 2>&1
  status=$?
  local outcome=passed
  ((status == 0)) || outcome="FAILED (exit $status, see $(basename "$log"))"
  rows+=("| $name | $outcome | $((SECONDS - start)) |")
  return 0
}

run() {
  local out=${OUT:-$dir/out}
  mkdir -p "$out"
  for name in gpu_diff halo2_scheme kernels prover proving libzkr_emu.so; do
    [[ -e $dir/$name ]] || { echo "gpu-check: $dir/$name is missing: run scripts/gpu-check.sh build first" >&2; exit 1; }
  done
  export ZKR_KERNELS_EMULATOR_LIB="$root/$dir/libzkr_emu.so"
  local started=$SECONDS
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv >"$out/device.csv" 2>&1
  else
    echo "no nvidia-smi on this machine" >"$out/device.csv"
  fi
  local msm ntt ks chunks backend
  if ((quick)); then
    # A dry run: the chunk proof takes the GPU if there is one (auto), the CPU otherwise.
    msm=12,14 ntt=12,14 ks=10 chunks=2:16 backend=auto
  else
    msm=16,18,20,22,24 ntt=16,18,20,22,24 ks=14,16,18 chunks=64:17 backend=gpu
  fi
  step "differential tests (gpu_diff)" "$out/gpu_diff.log" "$dir/gpu_diff" --test-threads=1
  step "halo2 proofs through MsmKzg (halo2_scheme)" "$out/halo2_scheme.log" "$dir/halo2_scheme" --test-threads=1
  step "kernel bench (MSM $msm, NTT $ntt)" "$out/kernels.md" "$dir/kernels" --msm "$msm" --ntt "$ntt" --reps 5
  step "prover bench (k $ks)" "$out/prover.md" "$dir/prover" --k "$ks" --reps 3
  step "chunk proof, backend $backend ($chunks)" "$out/proving.md" \
    "$dir/proving" --chunks "$chunks" --aggregate "" --backend "$backend" --out "$out/proving"

  echo
  echo "## gpu-check ($(date -u +%Y-%m-%dT%H:%MZ), $((SECONDS - started)) s)"
  echo
  sed 's/^/    /' "$out/device.csv"
  echo
  echo "| step | outcome | s |"
  echo "|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  grep -h "SKIPPED\|^test result:" "$out/gpu_diff.log" "$out/halo2_scheme.log" | sort | uniq -c | head -20
  for table in kernels prover proving; do
    echo
    echo "### $table"
    grep '^|' "$out/$table.md" || tail -5 "$out/$table.md"
  done
}

case $mode in
  build) build ;;
  run) run ;;
  *)
    echo "usage: $0 build [DIR] | run [--quick] [DIR]" >&2
    exit 2
    ;;
esac

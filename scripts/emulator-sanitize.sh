#!/usr/bin/env bash
# Runs the CUDA kernels under AddressSanitizer and UndefinedBehaviorSanitizer: builds the kernel emulator
# (kernels/emu/emulator.cpp, which compiles kernels/cuda for the host) with both sanitizers, and runs the
# differential tests (kernels/tests/gpu_diff.rs) on it, through the same host code as a GPU, at sizes up to 2^12
# (the sanitizers make the emulator several times slower; every kernel and every edge case still runs).
#
#   scripts/emulator-sanitize.sh [test filter...]     e.g. scripts/emulator-sanitize.sh msm_ ntt_
#
# Without filters it runs every test but two that the ordinary test run covers on the plain emulator and that add no
# new code to sanitize: results_do_not_depend_on_the_order_threads_run_in and one_worker_gives_the_same_results (the
# same kernels again in other orders).
#
# Any report (an out-of-bounds access in a kernel, a use after free, a shift past the width, a signed overflow, a
# misaligned load) aborts the run. The test binary runs with libasan preloaded, as a sanitized library loaded into
# an uninstrumented program must; leak checking is off (the Rust test harness keeps statics alive on purpose).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

cxx=${CXX:-g++}
out="$root/target/zkr-emu-sanitized"
mkdir -p "$out"
start=$SECONDS
echo "emulator-sanitize: building the sanitized emulator with $cxx"
"$cxx" -std=c++17 -O2 -g -fno-omit-frame-pointer -fPIC -shared -pthread -fvisibility=hidden \
  -fsanitize=address,undefined -fno-sanitize-recover=all \
  -Wall -Wextra -Werror -Wno-unknown-pragmas -Wno-clobbered \
  -o "$out/libzkr_emu.so" kernels/emu/emulator.cpp

echo "emulator-sanitize: building the differential tests"
# --workspace: the features the workspace's test run resolves, so CI's earlier `cargo nextest --workspace` build is
# reused rather than zkr-kernels' dependencies rebuilt with another feature set.
bin=$(cargo test --workspace --test gpu_diff --locked --no-run --message-format=json 2>/dev/null |
  jq -r 'select(.reason == "compiler-artifact" and .target.name == "gpu_diff" and .profile.test) | .executable')
[[ -x $bin ]] || { echo "emulator-sanitize: no test binary found" >&2; exit 1; }

if (($#)); then
  filters=("$@")
else
  filters=(--skip=results_do_not_depend_on_the_order_threads_run_in --skip=one_worker_gives_the_same_results)
fi
libasan=$("$cxx" -print-file-name=libasan.so)
[[ -f $libasan ]] || { echo "emulator-sanitize: $cxx has no libasan.so" >&2; exit 1; }
echo "emulator-sanitize: running gpu_diff on the sanitized emulator"
LD_PRELOAD="$libasan" \
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ZKR_KERNELS_EMULATOR_LIB="$out/libzkr_emu.so" ZKR_EMULATOR_MAX_LOG=12 \
  "$bin" --test-threads=2 "${filters[@]}"
echo "emulator-sanitize: passed ($((SECONDS - start)) s)"

#!/usr/bin/env bash
# Builds the CUDA kernels (kernels/cuda/zkr_kernels.cu) into the committed fatbin kernels/fatbin/zkr-kernels.fatbin,
# one file holding sm_90 SASS and compute_90 PTX, with nvcc 13.0 from pinned PyPI wheels:
#
#   scripts/kernels.sh            install the toolchain if needed, rebuild the fatbin, print the ptxas report
#   scripts/kernels.sh --check    rebuild into a temporary file and fail unless it equals the committed fatbin
#
# The toolchain goes to .tools/cuda (ignored by git; ZKR_CUDA_DIR overrides) and is reinstalled only when the pins
# below change. No GPU and no system CUDA are needed: nvcc only needs the host C++ compiler (g++) for preprocessing.
# Register spills fail the build (ptxas --warn-on-spills with --warning-as-error).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cuda_dir="${ZKR_CUDA_DIR:-$root/.tools/cuda}"
src="$root/kernels/cuda/zkr_kernels.cu"
out="$root/kernels/fatbin/zkr-kernels.fatbin"

# nvvm must match nvcc: a newer nvvm emits PTX that the 13.0 ptxas and our drivers reject (docs/DESIGN.md).
# nvidia-cuda-runtime provides cuda_runtime.h, which nvcc includes implicitly in every .cu file.
pins=(
  nvidia-cuda-nvcc==13.0.88
  nvidia-nvvm==13.0.88
  nvidia-cuda-crt==13.0.88
  nvidia-cuda-runtime==13.0.96
)

check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

install_toolchain() {
  local stamp="$cuda_dir/.installed" want
  want=$(printf '%s\n' "${pins[@]}")
  if [[ -f $stamp && $(cat "$stamp") == "$want" && -x $cuda_dir/pkgs/nvidia/cu13/bin/nvcc ]]; then
    return
  fi
  command -v python3 >/dev/null || { echo "kernels: python3 (with pip) is required" >&2; exit 1; }
  echo "kernels: installing ${pins[*]} into $cuda_dir"
  rm -rf "$cuda_dir/pkgs" "$stamp"
  mkdir -p "$cuda_dir"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
    --target "$cuda_dir/pkgs" "${pins[@]}"
  printf '%s\n' "$want" >"$stamp"
}

install_toolchain
cu="$cuda_dir/pkgs/nvidia/cu13"
# nvcc.profile puts nvvm/bin (cicc) and bin/ (ptxas, fatbinary) on its own PATH; the wheels keep every header,
# crt/ included, in one include/ folder, which nvcc's profile does not know about (it expects targets/<arch>/).
export PATH="$cu/bin:$PATH"
command -v g++ >/dev/null || { echo "kernels: g++ is required (nvcc preprocesses with the host compiler)" >&2; exit 1; }

build() { # <output file>
  local tmp
  tmp=$(mktemp -d)
  # Fixed working directory and relative paths: nothing machine-specific may end up in the output.
  (cd "$root/kernels/cuda" && nvcc --fatbin \
    -gencode arch=compute_90,code=sm_90 \
    -gencode arch=compute_90,code=compute_90 \
    -O3 -std=c++17 -I "$cu/include" \
    -Xptxas -v -Xptxas --warn-on-spills -Xptxas --warning-as-error \
    --keep-dir "$tmp" \
    -o "$1" zkr_kernels.cu) 2>"$tmp/ptxas.log" || { cat "$tmp/ptxas.log" >&2; rm -rf "$tmp"; echo "kernels: nvcc failed" >&2; exit 1; }
  # One line per kernel: registers, spills, shared memory (ptxas -v prints the name and the figures on two lines).
  awk '/Compiling entry function/ { match($0, /'"'"'[^'"'"']+'"'"'/); name = substr($0, RSTART + 1, RLENGTH - 2) }
       /spill stores/ { spill = $0; sub(/.*info    : /, "", spill) }
       /Used [0-9]+ registers/ { regs = $0; sub(/.*info    : /, "", regs); printf "  %-26s %s | %s\n", name, regs, spill }' \
    "$tmp/ptxas.log"
  rm -rf "$tmp"
}

start=$SECONDS
if (( check )); then
  tmp_out=$(mktemp --suffix=.fatbin)
  trap 'rm -f "$tmp_out"' EXIT
  # The register report stays in the log (CI's too): a kernel creeping towards a spill shows up before it fails.
  echo "kernels: ptxas report (sm_90):"
  build "$tmp_out"
  if [[ ! -f $out ]]; then
    echo "kernels: $out is missing; run scripts/kernels.sh and commit it" >&2
    exit 1
  fi
  if ! cmp -s "$tmp_out" "$out"; then
    echo "kernels: $out is stale: it differs from a fresh build of kernels/cuda (run scripts/kernels.sh and commit)" >&2
    exit 1
  fi
  echo "kernels: $out matches a fresh build ($((SECONDS - start)) s)"
else
  mkdir -p "$(dirname "$out")"
  echo "kernels: ptxas report (sm_90):"
  build "$out"
  echo "kernels: wrote $out ($(stat -c %s "$out") bytes, $((SECONDS - start)) s)"
fi

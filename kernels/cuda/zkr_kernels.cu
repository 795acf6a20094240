// The single translation unit compiled into kernels/fatbin/zkr-kernels.fatbin by scripts/kernels.sh.
// Every entry point is extern "C" with a zkr_ prefix; the Rust loader (src/gpu/kernels.rs) lists the names it loads.
#include "field.cuh"
#include "curve.cuh"
#include "msm.cuh"
#include "ntt.cuh"

#!/usr/bin/env bash
# Compiles the CUDA backend's kernels (engine/src/main/cuda/*.cu) into the fatbin the backend loads, with
# sm_80 and sm_90 code and compute_90 PTX (which newer GPUs compile at load), and writes ptxas's report of
# registers, shared memory and spills beside the source. nvcc's output is the same byte for byte on every
# build, so the fatbin is checked in and a test (CudaKernelArtifactsTest) rebuilds and compares it where nvcc
# is installed.
#
#   scripts/cuda/build-kernels.sh [OUTPUT_DIR]   (default: the checked-in locations)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
src="$root/engine/src/main/cuda"
out=${1:-}
if [ -z "$out" ]; then
  fatbin="$root/engine/src/main/resources/io/twinserve/engine/backend/cuda/twinserve_kernels.fatbin"
  report="$src/twinserve_kernels.ptxas.txt"
else
  mkdir -p "$out"
  fatbin="$out/twinserve_kernels.fatbin"
  report="$out/twinserve_kernels.ptxas.txt"
fi
if ! command -v nvcc >/dev/null 2>&1; then
  echo "build-kernels: nvcc not found (install the CUDA toolkit, 12.8 or newer)" >&2
  exit 2
fi
mkdir -p "$(dirname "$fatbin")"
# compiled from inside the source folder, so that no absolute path can enter the output
cd "$src"
nvcc -fatbin -std=c++17 -O3 \
  -gencode arch=compute_80,code=sm_80 \
  -gencode arch=compute_90,code=sm_90 \
  -gencode arch=compute_90,code=compute_90 \
  -Xptxas -v \
  -o "$fatbin" twinserve_kernels.cu 2> "$report.tmp"
# the report without its timings, which change from build to build
grep -v "Compile time" "$report.tmp" > "$report"
rm -f "$report.tmp"
echo "wrote $fatbin ($(wc -c < "$fatbin") bytes) and $report"

#!/usr/bin/env bash
# The CUDA backend's GPU check, in two halves (issue 20; ../shared/CUDA.md):
#
#   scripts/gpu/cuda-check.sh prepare [DIR]   here: builds what must travel into DIR (default out/gpu-cuda, a
#                                            git-ignored folder): a jlink'ed JDK 25 runtime (the GPU machine
#                                            has no JDK) and the engine's runtime jars, packed as DIR.tar.xz
#                                            (24 MB: with the 19 MB working tree, under the 64 MiB that travel)
#   scripts/gpu/cuda-check.sh run [DIR]       there: the machine's facts (nvidia-smi, driver, the libraries the
#                                            backend looks for), then CudaKernelCheck: the read and copy
#                                            bandwidth, every kernel against its Java reference on random
#                                            inputs, NaN-poisoned outputs, the gates of CUDA.md, and cuBLAS 13
#                                            through FFM (a GEMM checked, the bf16 GEMM rate); DIR/cuda-check.json
#
# With the device tool: run `prepare` here, then run `scripts/gpu/cuda-check.sh run` there with
# carry ["out/gpu-cuda.tar.xz"] (it unpacks itself); about a minute. What it does not check yet (the forward pass against the CPU backend
# and transformers + peft) is listed in docs/engine.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mode=${1:?usage: scripts/gpu/cuda-check.sh prepare|run [DIR]}
dir=${2:-$root/out/gpu-cuda}

prepare() {
  # shellcheck source=scripts/find-jdk25.sh
  source "$root/scripts/find-jdk25.sh"
  cd "$root"
  rm -rf "$dir"
  mkdir -p "$dir/lib"
  ./mvnw -B -ntp -q -pl engine -am install -DskipTests -Dmaven.javadoc.skip=true
  ./mvnw -B -ntp -q -pl engine dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir/lib"
  cp engine/target/twinserve-engine-*.jar "$dir/lib/"
  rm -f "$dir"/lib/*-sources.jar "$dir"/lib/*-tests.jar
  # the modules the check needs (jdeps on the whole class path would add java.desktop, java.sql and the
  # debugger's, for Jinjava and Guava, which the kernel check never loads)
  modules=java.base,java.logging,jdk.unsupported,jdk.incubator.vector
  jlink --add-modules "$modules" --strip-java-debug-attributes --strip-native-debug-symbols=exclude-debuginfo-files \
    --no-header-files --no-man-pages --compress zip-9 \
    --output "$dir/jdk"
  # and only the jars it loads: the engine, the twin and traces (model and memory types), Jackson, JCuda
  find "$dir/lib" -name '*.jar' | grep -Ev '/(twinserve-|jackson-|jcuda|snakeyaml|HdrHistogram|slf4j)' | xargs rm -f
  # of JCuda's natives only the driver API's library is loaded (cuBLAS goes through FFM): 1 MB of its 9.5
  natives=$(ls "$dir"/lib/jcuda-natives-*.jar)
  (cd "$dir" && mkdir -p natives && cd natives && jar xf "$natives" && \
    find lib -name '*.so' ! -name 'libJCudaDriver-*' -delete && jar cf "$natives" lib && cd .. && rm -rf natives)
  tar -C "$(dirname "$dir")" -cJf "$dir.tar.xz" "$(basename "$dir")"
  size=$(du -m "$dir.tar.xz" | cut -f1)
  tree=$(git ls-files -z | xargs -0 du -cm 2>/dev/null | tail -1 | cut -f1)
  echo "prepared $dir.tar.xz: ${size} MiB, with the working tree ${tree} MiB (JDK modules: $modules)"
  if [ $((size + tree)) -ge 62 ]; then
    echo "cuda-check: ${size} + ${tree} MiB; the device tool carries at most 64 MiB" >&2
    exit 1
  fi
}

run() {
  if [ ! -d "$dir" ] && [ -f "$dir.tar.xz" ]; then
    tar -C "$(dirname "$dir")" -xJf "$dir.tar.xz"
  fi
  echo "== facts"
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory --format=csv 2>&1 || echo "no nvidia-smi"
  for lib in libcuda.so.1 libcublas.so.13 libcublasLt.so.13; do
    found=$(ldconfig -p 2>/dev/null | grep -m1 "$lib" | sed 's/.*=> //' || true)
    if [ -z "$found" ]; then
      found=$(find /usr /opt -name "$lib" 2>/dev/null | head -1 || true)
    fi
    echo "$lib: ${found:-not found}"
    # cuBLAS where this machine has it (PyTorch's wheel folder, wherever Python lives), unless set already
    if [ "$lib" = libcublas.so.13 ] && [ -n "$found" ] && [ -z "${TWINSERVE_CUDA_LIBS:-}" ]; then
      export TWINSERVE_CUDA_LIBS
      TWINSERVE_CUDA_LIBS=$(dirname "$found")
    fi
  done
  echo "== kernels"
  "$dir/jdk/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$dir/lib/*" \
    io.twinserve.engine.backend.cuda.CudaKernelCheck --json "$dir/cuda-check.json"
}

case "$mode" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: scripts/gpu/cuda-check.sh prepare|run [DIR]" >&2; exit 2 ;;
esac

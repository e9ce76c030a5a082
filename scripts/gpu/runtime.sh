#!/usr/bin/env bash
# What the GPU check scripts share (sourced by cuda-check.sh, loop-check.sh and bench-check.sh): the JDK 25 runtime that travels
# (the GPU machine has none), JCuda's natives cut to the driver API's, and the check that the archive fits.

# jlink_runtime DIR MODULES: a JDK 25 runtime of MODULES in DIR/jdk, without debug symbols, headers or man pages
jlink_runtime() {
  jlink --add-modules "$2" --strip-java-debug-attributes --strip-native-debug-symbols=exclude-debuginfo-files \
    --no-header-files --no-man-pages --compress zip-9 --output "$1/jdk"
}

# prune_jcuda_natives DIR: of JCuda's natives only the driver API's library is loaded (cuBLAS goes through FFM):
# 1 MB of its 9.5
prune_jcuda_natives() {
  local natives
  natives=$(ls "$1"/lib/jcuda-natives-*.jar 2>/dev/null || true)
  [ -n "$natives" ] || return 0
  (cd "$1" && mkdir -p natives && cd natives && jar xf "$natives" && \
    find lib -name '*.so' ! -name 'libJCudaDriver-*' -delete && jar cf "$natives" lib && cd .. && rm -rf natives)
}

# pack_and_check DIR ROOT NAME: DIR.tar.xz, and whether it fits with the working tree in what the device tool carries
pack_and_check() {
  tar -C "$(dirname "$1")" -cJf "$1.tar.xz" "$(basename "$1")"
  local size tree
  size=$(du -m "$1.tar.xz" | cut -f1)
  tree=$(cd "$2" && git ls-files -z | xargs -0 du -cm 2>/dev/null | tail -1 | cut -f1)
  echo "prepared $1.tar.xz: ${size} MiB, with the working tree ${tree} MiB"
  if [ $((size + tree)) -ge 62 ]; then
    echo "$3: ${size} + ${tree} MiB; the device tool carries at most 64 MiB" >&2
    return 1
  fi
}

# step NAME [--limit SECONDS] COMMAND...: runs one step of a check whatever the others did, recording "pass (N s)",
# "FAIL (N s)" or "TIMEOUT (N s)" in the caller's associative array `result` and setting the caller's `status` to 1
# on a failure. A command (not a shell function) is stopped after SECONDS (default 300), so that one hung step
# cannot take a device call's whole budget and the steps after it.
step() {
  local name=$1
  shift
  local limit=300
  if [ "${1:-}" = --limit ]; then
    limit=$2
    shift 2
  fi
  echo "== $name"
  local t0=$SECONDS rc=0
  if declare -F "$1" >/dev/null; then
    "$@" || rc=$?
  else
    timeout -k 15 "$limit" "$@" || rc=$?
  fi
  if [ $rc -eq 0 ]; then
    result[$name]="pass ($((SECONDS - t0)) s)"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    result[$name]="TIMEOUT ($((SECONDS - t0)) s, limit $limit s)"
    status=1
  else
    result[$name]="FAIL ($((SECONDS - t0)) s)"
    status=1
  fi
}

# unpack_carried DIR: DIR.tar.xz (the carried runtime, jars and data) unpacked over DIR, its runtime and jars
# replaced: a warm machine keeps what an earlier call unpacked, which a rerun after a new `prepare` must not use.
# Python's tarfile unpacks it where the xz program is missing.
unpack_carried() {
  local d=$1
  [ -f "$d.tar.xz" ] || return 0
  rm -rf "$d/jdk" "$d/lib"
  if command -v xz >/dev/null 2>&1; then
    tar -C "$(dirname "$d")" -xJf "$d.tar.xz"
  else
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$d.tar.xz" "$(dirname "$d")"
  fi
  if [ -f "$d/COMMIT" ]; then
    echo "carried runtime built from $(cat "$d/COMMIT")"
  fi
}

# results_here DIR NAME: sets the caller's `res` to where results go: $OUT when the device tool gives one (what is
# written there comes back: at most 8 files of 16 MiB, 2 folders down), else DIR/results; and from here on
# everything the script prints goes to res/NAME.log too, since a reply holds only the output's last 12,000
# characters.
results_here() {
  res=${OUT:-$1/results}
  mkdir -p "$res"
  exec > >(tee -a "$res/$2.log") 2>&1
}

# stamp_commit DIR ROOT: the commit (and whether the tree had changes) the prepared runtime was built from
stamp_commit() {
  (cd "$2" && echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!out' 2>/dev/null || echo -dirty)") \
    > "$1/COMMIT"
}

# gpu_facts: prints the machine's GPU and driver, and points TWINSERVE_CUDA_LIBS at the folder of libcublas.so.13
# when it is found and the variable is not set
gpu_facts() {
  echo "== facts"
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "no nvidia-smi"
  local found
  found=$(ldconfig -p 2>/dev/null | grep -m1 libcublas.so.13 | sed 's/.*=> //' || true)
  [ -z "$found" ] && found=$(find /usr /opt -name libcublas.so.13 2>/dev/null | head -1 || true)
  if [ -n "$found" ] && [ -z "${TWINSERVE_CUDA_LIBS:-}" ]; then
    export TWINSERVE_CUDA_LIBS
    TWINSERVE_CUDA_LIBS=$(dirname "$found")
  fi
  echo "cuBLAS 13: ${TWINSERVE_CUDA_LIBS:-not found}"
}

# cli_command DIR: sets the caller's array `tw` to the carried runtime's twinserve command line
cli_command() {
  tw=("$1/jdk/bin/java" -Xmx24g --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
    -cp "$1/lib/*" io.twinserve.api.cli.TwinserveCommand)
}

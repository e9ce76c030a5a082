#!/usr/bin/env bash
# Rebuilds the placement model shipped in the jar (placement-model/src/main/resources/io/twinserve/placement/default-model):
# the built-in training grid (training-grid.yaml) for both calibrated models, and the grid of other GPUs
# (training-grid-gpus.yaml: Llama-3.1-8B on four more GPU types at tp 1 and 2), through the twin (under 30 minutes
# on 2 cores), then `twinserve train` with its defaults, the first dataset's pool as the main grid. The sweep is deterministic, so the datasets are identical run to run;
# the trees and their figures are too (Tribuo's files differ only in the provenance timestamps they record).
#
#   scripts/build-default-model.sh [WORK_DIR]      # WORK_DIR keeps the datasets (default out/default-model)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-out/default-model}
dest=placement-model/src/main/resources/io/twinserve/placement/default-model
mkdir -p "$work"
# the jar records the commit it is built from (git.properties): build it from this checkout now, so that the
# datasets' and the model's provenance name this commit, and edits made while the sweeps run change nothing
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "build-default-model: the checkout has uncommitted changes; the provenance will say -dirty" >&2
fi
source scripts/find-jdk25.sh
./mvnw -q -B -DskipTests -Dmaven.javadoc.skip=true install
# a copy, run directly: ./twinserve would rebuild the jar if sources changed during the run
cp control-api/target/twinserve.jar "$work/twinserve.jar"
ts() {
  "$JAVA_HOME/bin/java" --sun-misc-unsafe-memory-access=allow --add-modules jdk.incubator.vector \
    --enable-native-access=ALL-UNNAMED ${JAVA_OPTS:-} -jar "$work/twinserve.jar" "$@"
}
ts sweep training-grid --model llama-3.1-8b -o "$work/training-llama"
ts sweep training-grid --model qwen2.5-7b -o "$work/training-qwen"
ts sweep training-grid-gpus -o "$work/training-gpus"
# the first dataset's pools are the main grid; the other GPUs' rows get trees of their own
ts train "$work/training-llama" "$work/training-qwen" "$work/training-gpus" -o "$work/model"
rm -rf "$dest"
mkdir -p "$dest"
cp "$work"/model/* "$dest"/
echo "installed $work/model into $dest; rebuild the jar (./mvnw -B -ntp install -DskipTests) to ship it"

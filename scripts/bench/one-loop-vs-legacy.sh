#!/usr/bin/env bash
# Times the one simulation loop against the single-replica loop it replaced (issue 16), both on this
# checkout's scheduler, in one JVM: the replaced loop as it stood when it was last kept for comparison
# (LegacyReplicaSimulator and TwinBenchmark.simulate of commit da8d6bb) is applied to a temporary worktree of
# HEAD, which is built, and OneLoopVsLegacy runs each light-load scenario REPEAT times with each loop in turns
# (medians) and the 55 grid scenarios once each.
#   scripts/bench/one-loop-vs-legacy.sh [REPEAT]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/find-jdk25.sh
repeat=${1:-9}
dir=$(mktemp -d)/legacy
git worktree add -q --detach "$dir" HEAD
trap 'git worktree remove --force "$dir"' EXIT
git show da8d6bb -- twin/src/main/java/io/twinserve/twin/sim/LegacyReplicaSimulator.java \
  experiments/src/main/java/io/twinserve/experiments/bench/TwinBenchmark.java | (cd "$dir" && git apply)
(cd "$dir" && ./mvnw -B -ntp -q package -DskipTests -Dmaven.javadoc.skip=true -pl control-api -am)
jar="$dir/control-api/target/twinserve.jar"
"$JAVA_HOME/bin/javac" -d "$dir/bench" -cp "$jar" scripts/bench/OneLoopVsLegacy.java
"$JAVA_HOME/bin/java" -Xmx4g --sun-misc-unsafe-memory-access=allow --add-modules jdk.incubator.vector \
  -cp "$jar:$dir/bench" OneLoopVsLegacy "$repeat"

#!/usr/bin/env bash
# Times the twin's bench scenarios on an earlier commit's build and on the working tree's, in one JVM
# (`twinserve bench twin --before JAR`), so that "before" and "after" share the machine's state.
#   scripts/bench/twin-before-after.sh COMMIT [REPEAT]
# Builds COMMIT's application jar in a temporary git worktree and keeps it as target/twinserve-<commit>.jar
# for reruns. The commit must have io.twinserve.experiments.bench.TwinBenchmark (any commit since the
# benchmark existed).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/find-jdk25.sh
commit=$(git rev-parse --short "${1:?usage: scripts/bench/twin-before-after.sh COMMIT [REPEAT]}")
repeat=${2:-7}
before=target/twinserve-$commit.jar
if [ ! -f "$before" ]; then
  dir=$(mktemp -d)/before
  git worktree add -q --detach "$dir" "$commit"
  trap 'git worktree remove --force "$dir"' EXIT
  (cd "$dir" && ./mvnw -B -ntp -q package -DskipTests -Dmaven.javadoc.skip=true -pl control-api -am)
  mkdir -p target
  cp "$dir/control-api/target/twinserve.jar" "$before"
fi
# a fixed, pre-touched heap: on a VM whose page faults cost ~10 us each, a heap that grows while the runs are
# timed adds tens of percent to whichever build's runs meet the fresh pages (docs/performance.md)
JAVA_OPTS="${JAVA_OPTS:--Xms4g -Xmx4g -XX:+AlwaysPreTouch}" ./twinserve bench twin --before "$before" --repeat "$repeat"

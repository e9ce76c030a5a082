#!/usr/bin/env bash
# Times the twin's bench scenarios on the jar of an earlier commit and on the working tree's jar, in one
# JVM (scripts/bench/TwinBeforeAfter.java), so that "before" and "after" share the machine's state.
#   scripts/bench/twin-before-after.sh COMMIT [REPEAT]
# Builds COMMIT's jar in a temporary git worktree (the jar is kept as target/twinserve-<commit>.jar for
# reruns); the working tree's jar must be built already (./mvnw package -DskipTests -pl control-api -am).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/find-jdk25.sh
commit=$(git rev-parse --short "${1:?usage: scripts/bench/twin-before-after.sh COMMIT [REPEAT]}")
repeat=${2:-7}
after=control-api/target/twinserve.jar
[ -f "$after" ] || { echo "no $after: build it first (./mvnw -B -q package -DskipTests -pl control-api -am)" >&2; exit 2; }
before=target/twinserve-$commit.jar
if [ ! -f "$before" ]; then
  dir=$(mktemp -d)/before
  git worktree add -q --detach "$dir" "$commit"
  trap 'git worktree remove --force "$dir"' EXIT
  (cd "$dir" && ./mvnw -B -ntp -q package -DskipTests -Dmaven.javadoc.skip=true -pl control-api -am)
  mkdir -p target
  cp "$dir/control-api/target/twinserve.jar" "$before"
fi
"$JAVA_HOME/bin/java" -Xmx4g --sun-misc-unsafe-memory-access=allow --add-modules jdk.incubator.vector \
  scripts/bench/TwinBeforeAfter.java "$before" "$after" "$repeat"

#!/usr/bin/env bash
# The long fuzzing run: fuzzes each Jazzer target (every *FuzzTest class) for the given number of
# seconds, one after another, and prints a table of executions, time and crashes per target.
#
#   scripts/fuzz-long.sh [seconds-per-target] [filter]   (filter: part of module:Class, e.g. engine: or Tokenizer)
#
# Default 300 s per target. ./test runs the same targets for a few seconds each (the fuzz-short
# surefire execution); this is the run docs/reliability.md reports. A crash leaves its input as
# <module>/target/fuzz/crash-<sha1> (and the Java stack trace in the target's log): move the input into
# the target's ...FuzzTestInputs/<method>/ folder under src/test/resources, fix the parser, and it is
# replayed by every ./test from then on. Logs go to target/fuzz-long/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/find-jdk25.sh
source "$root/scripts/find-jdk25.sh"
cd "$root"
seconds=${1:-300}
filter=${2:-}
logs="$root/target/fuzz-long"
mkdir -p "$logs"

# module:Class, in dependency order
targets=$(for module in traces twin engine control-api; do
  find "$module/src/test/java" -name '*FuzzTest.java' 2>/dev/null | sort | while read -r f; do
    echo "$module:$(basename "$f" .java)"
  done
done)

printf '%-12s %-34s %12s %8s %10s %8s\n' module target executions seconds exec/s crashes
total_runs=0
total_crashes=0
for t in $targets; do
  module=${t%%:*}
  class=${t#*:}
  if [ -n "$filter" ] && [[ "$t" != *"$filter"* ]]; then
    continue
  fi
  log="$logs/$class.log"
  rm -f "$module"/target/fuzz/crash-* "$module"/target/fuzz/timeout-* "$module"/target/fuzz/slow-unit-*
  status=0
  # test-compile puts every module's classes in the reactor (not the copies in ~/.m2); only $class is fuzzed
  ./mvnw -B -ntp -o -pl traces,twin,placement-model,engine,experiments,control-api \
    test-compile surefire:test@fuzz-short -Dtest="$class" -Dsurefire.failIfNoSpecifiedTests=false \
    -Dfuzz.short.seconds="$seconds" -Dsurefire.timeout=$((seconds + 300)) >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  secs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$log" | tail -1)
  crashes=$(find "$module/target/fuzz" -maxdepth 1 -name 'crash-*' 2>/dev/null | wc -l)
  if [ -z "$runs" ]; then
    # libFuzzer prints no "Done" line when it stops on a finding: take the last status line
    runs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    secs=$seconds
    [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes="?"
  fi
  runs=${runs:-0}
  rate=$(( secs > 0 ? runs / secs : runs ))
  printf '%-12s %-34s %12s %8s %10s %8s\n' "$module" "$class" "$runs" "$secs" "$rate" "$crashes"
  total_runs=$((total_runs + runs))
  [[ "$crashes" =~ ^[0-9]+$ ]] && total_crashes=$((total_crashes + crashes))
done
echo "total executions: $total_runs, crashes: $total_crashes (logs in $logs)"

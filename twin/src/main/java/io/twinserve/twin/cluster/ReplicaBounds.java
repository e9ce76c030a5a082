package io.twinserve.twin.cluster;

import io.twinserve.traces.spec.SpecException;

/**
 * How many replicas a deployment runs: {@code initial} at the start (warm), and with an autoscaler
 * between {@code min} and {@code max}. Defaults: min = 1, initial = min, max = initial.
 */
public record ReplicaBounds(Integer initial, Integer min, Integer max) {

    public ReplicaBounds {
        min = min == null ? 1 : min;
        if (min < 1) {
            throw new SpecException("min", "must be >= 1 (a deployment keeps one replica to route to), got " + min);
        }
        initial = initial == null ? min : initial;
        max = max == null ? Math.max(initial, min) : max;
        if (initial < min) {
            throw new SpecException("initial", "must be >= min (" + min + "), got " + initial);
        }
        if (max < initial) {
            throw new SpecException("max", "must be >= initial (" + initial + ") and min (" + min + "), got " + max);
        }
    }

    public static ReplicaBounds of(int replicas) {
        return new ReplicaBounds(replicas, replicas, replicas);
    }
}

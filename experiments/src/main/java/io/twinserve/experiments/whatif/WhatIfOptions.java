package io.twinserve.experiments.whatif;

import io.twinserve.traces.spec.SloSpec;

/**
 * How a what-if runs: the workload seed override, the measurement window (null: the spec's duration, or
 * until every request finishes), whether to drain after it, the rank of adapters a trace names, the client's
 * cap on outstanding requests (null: the spec's), SLO bounds over the specs' (null: none), the parallel runs
 * of a sweep, and whether to keep one record per request (single runs only).
 */
public record WhatIfOptions(
        Long seed,
        Double windowS,
        boolean drain,
        int adapterRank,
        Integer maxOutstanding,
        SloSpec slo,
        int threads,
        boolean recordRequests) {
    public WhatIfOptions {
        if (maxOutstanding != null && maxOutstanding < 1) {
            throw new IllegalArgumentException("max_outstanding must be >= 1, got " + maxOutstanding);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
    }

    /** The defaults of {@code twinserve what-if}: rank 16 for trace adapters, one thread, nothing overridden. */
    public static WhatIfOptions defaults() {
        return new WhatIfOptions(null, null, false, 16, null, null, 1, false);
    }

    /** The window in nanoseconds, or null when none was given. */
    Long windowNs() {
        return windowS == null ? null : (long) (windowS * 1e9);
    }
}

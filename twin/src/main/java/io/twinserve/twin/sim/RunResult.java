package io.twinserve.twin.sim;

import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.metrics.RunSummary;
import java.util.List;

/**
 * A run's summary and, when asked for, its per-request records in arrival order.
 *
 * @param stoppedNs when the run stopped early because its starvation was settled
 *     ({@link RunOptions#stopWhenStarving()}), the virtual time it stopped at and over which the summary
 *     is measured; -1 when it ran its whole window
 */
public record RunResult(RunSummary summary, List<RequestRecord> requests, long stoppedNs) {

    public RunResult(RunSummary summary, List<RequestRecord> requests) {
        this(summary, requests, -1);
    }

    public boolean stoppedEarly() {
        return stoppedNs >= 0;
    }
}

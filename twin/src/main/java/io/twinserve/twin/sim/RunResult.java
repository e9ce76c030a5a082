package io.twinserve.twin.sim;

import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.metrics.RunSummary;
import java.util.List;

/** A run's summary and, when asked for, its per-request records in arrival order. */
public record RunResult(RunSummary summary, List<RequestRecord> requests) {}

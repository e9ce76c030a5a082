package io.twinserve.twin.cluster;

import io.twinserve.twin.metrics.RequestRecord;
import java.util.List;
import java.util.Map;

/** A cluster run's summary and, when asked for, each deployment's per-request records. */
public record ClusterResult(ClusterSummary summary, Map<String, List<RequestRecord>> requests) {}

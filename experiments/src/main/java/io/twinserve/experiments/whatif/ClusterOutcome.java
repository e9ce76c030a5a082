package io.twinserve.experiments.whatif;

import java.util.List;

/** The runs of a cluster what-if, in sweep order (one when nothing was swept). */
public record ClusterOutcome(List<ClusterRun> runs) {
    public ClusterOutcome {
        runs = List.copyOf(runs);
        if (runs.isEmpty()) {
            throw new IllegalArgumentException("a cluster what-if outcome needs at least one run");
        }
    }

    /** Whether one configuration ran (no sweep, or a sweep of one value per key). */
    public boolean single() {
        return runs.size() == 1;
    }

    /** The only run of a what-if with one configuration. */
    public ClusterRun only() {
        if (!single()) {
            throw new IllegalStateException("a sweep of " + runs.size() + " configurations has no single run");
        }
        return runs.get(0);
    }

    /** The JSON of {@code what-if --cluster --json}: one run's document, or for a sweep a list of them. */
    public Object document() {
        return single()
                ? only().document()
                : runs.stream().map(ClusterRun::document).toList();
    }
}

package io.twinserve.experiments.whatif;

import io.twinserve.placement.Labels;
import io.twinserve.twin.slo.SloVerdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The runs of a single-replica what-if, in sweep order (one when nothing was swept), and the best: among
 * the runs that meet the SLO the first within {@link Labels#TIE} of the highest throughput, else the closest
 * to meeting it; -1 when none ran.
 */
public record ReplicaOutcome(List<ReplicaRun> runs, int best) {
    public ReplicaOutcome {
        runs = List.copyOf(runs);
        if (runs.isEmpty() || best < -1 || best >= runs.size()) {
            throw new IllegalArgumentException("a what-if outcome needs runs and a best index among them (or -1), got "
                    + runs.size() + " runs and best " + best);
        }
    }

    static ReplicaOutcome of(List<ReplicaRun> runs) {
        return new ReplicaOutcome(runs, best(runs));
    }

    /** Whether one configuration ran (no sweep, or a sweep of one value per key). */
    public boolean single() {
        return runs.size() == 1;
    }

    /** The only run of a what-if with one configuration. */
    public ReplicaRun only() {
        if (!single()) {
            throw new IllegalStateException("a sweep of " + runs.size() + " configurations has no single run");
        }
        return runs.get(0);
    }

    /** Whether the best run meets the SLO (else it is only the closest). */
    public boolean bestMeetsSlo() {
        return best >= 0 && runs.get(best).verdict().met();
    }

    /**
     * The JSON of {@code what-if --json}: one run's document, or for a sweep a list of them, each marked
     * {@code best} (it meets the SLO) or {@code closest} (none does).
     */
    public Object document() {
        if (single()) {
            return only().document();
        }
        boolean meets = bestMeetsSlo();
        List<Object> docs = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            Map<String, Object> d = runs.get(i).document();
            d.put("best", i == best && meets);
            d.put("closest", i == best && !meets);
            docs.add(d);
        }
        return docs;
    }

    /**
     * The best configuration, by the rule of the placement model's labels ({@link Labels#slots}): among those
     * that meet the SLO, the first in sweep order whose throughput is within {@link Labels#TIE} of the
     * highest (so list cheaper settings first: fewer slots win among equals). When none meets the SLO, the
     * closest (the smallest worst miss, {@link SloVerdict#worstSeverity}). -1 when none ran.
     */
    static int best(List<ReplicaRun> runs) {
        double top = -1;
        for (ReplicaRun o : runs) {
            if (o.result() != null && o.verdict().met()) {
                top = Math.max(top, o.result().summary().achieved().totalTokensPerS());
            }
        }
        int best = -1;
        for (int i = 0; i < runs.size() && top >= 0; i++) {
            ReplicaRun o = runs.get(i);
            if (o.result() != null
                    && o.verdict().met()
                    && o.result().summary().achieved().totalTokensPerS() >= (1 - Labels.TIE) * top) {
                return i;
            }
        }
        for (int i = 0; i < runs.size(); i++) {
            ReplicaRun o = runs.get(i);
            if (o.result() != null
                    && (best < 0
                            || o.verdict().worstSeverity()
                                    < runs.get(best).verdict().worstSeverity())) {
                best = i;
            }
        }
        return best;
    }
}

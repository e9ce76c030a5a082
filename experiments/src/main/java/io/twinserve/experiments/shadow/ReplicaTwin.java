package io.twinserve.experiments.shadow;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.sim.ReplicaSimulator;
import io.twinserve.twin.sim.RunOptions;
import io.twinserve.twin.sim.RunResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The twin of one replica as shadow mode runs it: the resolved replica (its scheduler limits, KV cache, slots
 * and perf model) replaying arrivals from an empty state, every request to its end.
 */
public final class ReplicaTwin implements ShadowTwin.Twin {
    private final ResolvedReplica replica;
    private final Map<String, Integer> ranks;
    private final int defaultRank;

    /**
     * @param ranks each adapter's rank (others get {@code defaultRank})
     */
    public ReplicaTwin(ResolvedReplica replica, Map<String, Integer> ranks, int defaultRank) {
        this.replica = replica;
        this.ranks = ranks;
        this.defaultRank = defaultRank;
    }

    @Override
    public List<ShadowTwin.Outcome> simulate(List<ShadowTwin.Arrival> arrivals) {
        List<Request> requests = new ArrayList<>(arrivals.size());
        for (ShadowTwin.Arrival a : arrivals) {
            requests.add(
                    Request.of(a.id(), a.arrivalNs(), a.adapter(), Math.max(1, a.promptTokens()), a.outputTokens()));
        }
        Iterator<Request> it = requests.iterator();
        TraceReader reader = () -> it.hasNext() ? it.next() : null;
        RunResult run;
        try {
            run = new ReplicaSimulator(replica, ranks)
                    .run(reader, new RunOptions(null, false, true, defaultRank, false));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<Long, RequestRecord> byId = new HashMap<>();
        for (RequestRecord r : run.requests()) {
            byId.put(r.id(), r);
        }
        List<ShadowTwin.Outcome> out = new ArrayList<>(arrivals.size());
        for (ShadowTwin.Arrival a : arrivals) {
            RequestRecord r = byId.get(a.id());
            out.add(
                    r == null
                            ? new ShadowTwin.Outcome(-1, -1)
                            : new ShadowTwin.Outcome(r.firstTokenNs(), r.finishNs()));
        }
        return out;
    }
}

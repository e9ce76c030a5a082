package io.twinserve.twin.sim;

import io.twinserve.traces.format.TraceReader;
import io.twinserve.twin.client.ClientGate;
import io.twinserve.twin.cluster.ClusterSimulator;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.sched.Scheduler;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Simulates one replica serving a workload on a virtual clock: a cluster of that one replica in the
 * cluster's loop ({@link ClusterSimulator#runReplica}), so that a single replica's figures and a cluster's
 * come from the same code.
 *
 * <p>Decode stretches: while the scheduler holds only lazy decoders and nothing can join (see {@link
 * Scheduler#stretchable}), the steps that no arrival joins and no sequence leaves are completed and the
 * next ones planned in bulk ({@link Scheduler#runQuiet}), up to the next send, finish, timeline sample,
 * starvation checkpoint or the window's end. The results are those of stepping one by one (tests compare
 * them).
 *
 * <p>Requests reach the replica through a {@link ClientGate}: an arrival is the client's send, which is the
 * workload's arrival time unless the client holds requests back (a cap on outstanding requests, or
 * closed-loop users). Arrivals at the same time as a step's end are queued first, so the next step sees
 * them; a request sent because another ended at a step's end arrives after that step's planning.
 */
public final class ReplicaSimulator {
    private final ResolvedReplica replica;
    private final Map<String, Integer> adapterRanks;
    private final boolean lazyDecodes;
    private final boolean decodeStretches;
    private final LongAdder bulkSteps = new LongAdder();

    /**
     * @param adapterRanks rank of each adapter the workload uses (others get the options' default rank)
     */
    public ReplicaSimulator(ResolvedReplica replica, Map<String, Integer> adapterRanks) {
        this(replica, adapterRanks, true, true);
    }

    /**
     * @param lazyDecodes let steady steps count decoding sequences in bulk (exact; false visits every
     *     sequence every step, for comparison)
     */
    public ReplicaSimulator(ResolvedReplica replica, Map<String, Integer> adapterRanks, boolean lazyDecodes) {
        this(replica, adapterRanks, lazyDecodes, true);
    }

    /**
     * @param decodeStretches run quiet steady steps in bulk (exact; false steps one by one, for comparison);
     *     needs {@code lazyDecodes}
     */
    public ReplicaSimulator(
            ResolvedReplica replica, Map<String, Integer> adapterRanks, boolean lazyDecodes, boolean decodeStretches) {
        this.replica = replica;
        this.adapterRanks = adapterRanks;
        this.lazyDecodes = lazyDecodes;
        this.decodeStretches = decodeStretches && lazyDecodes;
    }

    /** Steps completed in bulk by this simulator's runs so far, summed (for tests: stretches are taken). */
    public long bulkSteps() {
        return bulkSteps.sum();
    }

    /** Runs the workload with the client its spec describes (a trace: every request sent at its arrival time). */
    public RunResult run(TraceReader workload, RunOptions options) throws IOException {
        return run(ClientGate.forWorkload(workload, null), options);
    }

    /** Runs the requests {@code client} sends; it is told when each ends. */
    public RunResult run(ClientGate client, RunOptions options) throws IOException {
        return ClusterSimulator.runReplica(
                replica, client, adapterRanks, lazyDecodes, decodeStretches, bulkSteps, options);
    }
}

package io.twinserve.twin.sim;

import io.twinserve.traces.format.TraceReader;
import io.twinserve.twin.client.ClientGate;
import io.twinserve.twin.cluster.ClusterSimulator;
import io.twinserve.twin.deploy.ResolvedReplica;
import java.io.IOException;
import java.util.Map;

/**
 * Simulates one replica serving a workload on a virtual clock: a cluster of that one replica in the
 * cluster's loop ({@link ClusterSimulator#runReplica}), so that a single replica's figures and a cluster's
 * come from the same code.
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

  /**
   * @param adapterRanks rank of each adapter the workload uses (others get the options' default rank)
   */
  public ReplicaSimulator(ResolvedReplica replica, Map<String, Integer> adapterRanks) {
    this(replica, adapterRanks, true);
  }

  /**
   * @param lazyDecodes let steady steps count decoding sequences in bulk (exact; false visits every
   *     sequence every step, for comparison)
   */
  public ReplicaSimulator(ResolvedReplica replica, Map<String, Integer> adapterRanks, boolean lazyDecodes) {
    this.replica = replica;
    this.adapterRanks = adapterRanks;
    this.lazyDecodes = lazyDecodes;
  }

  /** Runs the workload with the client its spec describes (a trace: every request sent at its arrival time). */
  public RunResult run(TraceReader workload, RunOptions options) throws IOException {
    return run(ClientGate.forWorkload(workload, null), options);
  }

  /** Runs the requests {@code client} sends; it is told when each ends. */
  public RunResult run(ClientGate client, RunOptions options) throws IOException {
    return ClusterSimulator.runReplica(replica, client, adapterRanks, lazyDecodes, options);
  }
}

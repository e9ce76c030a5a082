package io.twinserve.twin.sim;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.client.ClientGate;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.kv.KvBlockManager;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.metrics.RunSummary;
import io.twinserve.twin.replica.AdapterIndex;
import io.twinserve.twin.replica.ReplicaCore;
import io.twinserve.twin.sched.Scheduler;
import io.twinserve.twin.sched.Sequence;
import java.io.IOException;
import java.util.Map;

/**
 * Simulates one replica serving a workload on a virtual clock.
 *
 * <p>The loop has two kinds of events, taken in time order: a request arrives (read lazily from the
 * workload, so a trace of any length streams through), and the running step completes. Arrivals at the
 * same time as a step's end are queued first, so the next step sees them (the tie rule). When the
 * replica is idle the clock jumps to the next arrival (or the next background adapter load). A step's
 * duration is the performance model's price for its shape plus the adapter loads that stall it.
 *
 * <p>Requests reach the replica through a {@link ClientGate}: an arrival is the client's send, which is the
 * workload's arrival time unless the client holds requests back (a cap on outstanding requests, or
 * closed-loop users). A request sent because another ended at a step's end arrives after that step's
 * planning, as in a cluster run.
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
    AdapterIndex adapterIndex = new AdapterIndex(replica.scheduler().maxAdapters(),
        replica.scheduler().maxAdapterRank(), "");
    ReplicaCore core = ReplicaCore.simulated(replica, adapterIndex, lazyDecodes);
    Scheduler scheduler = core.scheduler();
    KvBlockManager kv = core.kv();
    AdapterCache adapters = core.adapters();
    Metrics metrics = new Metrics(options.recordRequests(), replica.spec().starvationBoundS(), client);
    long window = options.windowNs() == null ? Long.MAX_VALUE : options.windowNs();
    metrics.window(window);

    long now = 0;
    long lastArrival = 0;
    boolean stepping = false;
    long stepEnd = 0;
    long order = 0;
    long stoppedNs = -1;
    while (true) {
      long horizon = stepping ? stepEnd : now;
      // arrivals up to the step's end (or now when idle) join the queue first: the tie rule
      for (long sentNs = client.nextSendNs(); sentNs <= horizon && sentNs < window; sentNs = client.nextSendNs()) {
        Request next = client.take();
        lastArrival = sentNs;
        int a = adapterIndex.indexOf(next, adapterRanks, options.defaultAdapterRank());
        core.knowAdapters(adapterIndex.size(), options.preloadAdapters());
        metrics.arrived(next);
        if (!core.admissible(next.promptTokens(), next.outputTokens())) {
          metrics.rejected(next, sentNs, client.intendedNs());
        } else {
          long[] hashes = core.prefixKeys(next, a);
          Sequence s = new Sequence(next.id(), order++, sentNs, a, adapterIndex.rank(a), next.promptTokens(),
              next.outputTokens(), hashes);
          s.intendedNs(client.intendedNs());
          metrics.track(s, next.adapterId());
          scheduler.enqueue(s);
        }
      }
      if (stepping) {
        metrics.observe(stepEnd, scheduler, kv);
        now = stepEnd;
        scheduler.complete(now, metrics);
        stepping = false;
        if (options.stopWhenStarving() && now < window && metrics.starvationSettled(now)) {
          stoppedNs = now;
          break;
        }
      }
      if (now >= window && !(options.drain() && !scheduler.isIdle())) {
        break;
      }
      if (scheduler.plan(now) && scheduler.hasWork()) {
        long duration = replica.perf().stepNs(scheduler.shape()) + scheduler.stallNs();
        stepEnd = now + Math.max(1, duration);
        stepping = true;
        metrics.step();
        continue;
      }
      // idle: jump to the next arrival or background adapter load; stop when nothing is left to happen
      long nextSend = client.nextSendNs();
      long wake = Math.min(scheduler.nextAdapterReadyNs(), nextSend >= window ? Long.MAX_VALUE : nextSend);
      if (wake == Long.MAX_VALUE) {
        break;
      }
      metrics.observe(wake, scheduler, kv);
      now = Math.max(now, wake);
    }
    scheduler.materialize();
    // without a window, the run lasts until its last request finishes (the makespan)
    long windowNs = stoppedNs >= 0 ? stoppedNs
        : options.windowNs() != null ? options.windowNs() : Math.max(now, Math.max(lastArrival, 1));
    metrics.observe(Math.max(now, windowNs), scheduler, kv);
    RunSummary summary = metrics.summary(windowNs, now, scheduler, adapters, replica.memory(),
        client.summary(windowNs));
    return new RunResult(summary, metrics.records(), stoppedNs);
  }
}

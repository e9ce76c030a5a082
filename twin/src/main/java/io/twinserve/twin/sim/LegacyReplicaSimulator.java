package io.twinserve.twin.sim;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.client.ClientGate;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.kv.KvBlockManager;
import io.twinserve.twin.memory.MemoryBreakdown;
import io.twinserve.twin.metrics.ClientSummary;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.metrics.RequestTallies;
import io.twinserve.twin.metrics.RunSummary;
import io.twinserve.twin.metrics.TimeIntegral;
import io.twinserve.twin.replica.PrefixKeys;
import io.twinserve.twin.sched.QuietSteps;
import io.twinserve.twin.sched.Scheduler;
import io.twinserve.twin.sched.SchedulerConfig;
import io.twinserve.twin.sched.Sequence;
import io.twinserve.twin.sched.StepListener;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * TEMPORARY (bench twin --compare-legacy): main's single-replica loop before the one loop, with its own
 * metrics, on today's scheduler and prefix keys, timed against the one loop in the same run.
 *
 * <p>Simulates one replica serving a workload on a virtual clock.
 *
 * <p>The loop has two kinds of events, taken in time order: a request arrives (read lazily from the
 * workload, so a trace of any length streams through), and the running step completes. Arrivals at the
 * same time as a step's end are queued first, so the next step sees them (the tie rule). When the
 * replica is idle the clock jumps to the next arrival (or the next background adapter load). A step's
 * duration is the performance model's price for its shape plus the adapter loads that stall it.
 *
 * <p>Decode stretches: while the scheduler holds only lazy decoders and nothing can join (see {@link
 * Scheduler#stretchable}), the steps that no arrival joins and no sequence leaves are completed and the
 * next ones planned in bulk ({@link Scheduler#runQuiet}), priced by the model's {@link
 * io.twinserve.twin.perf.DecodeStretch}, up to the next send, finish, timeline sample, starvation
 * checkpoint or the window's end. The results are those of stepping one by one (tests compare them).
 *
 * <p>Requests reach the replica through a {@link ClientGate}: an arrival is the client's send, which is the
 * workload's arrival time unless the client holds requests back (a cap on outstanding requests, or
 * closed-loop users). A request sent because another ended at a step's end arrives after that step's
 * planning, as in a cluster run.
 */
public final class LegacyReplicaSimulator {
  private final ResolvedReplica replica;
  private final Map<String, Integer> adapterRanks;
  private final boolean lazyDecodes;
  private final boolean decodeStretches;
  private final java.util.concurrent.atomic.LongAdder bulkSteps = new java.util.concurrent.atomic.LongAdder();

  /**
   * @param adapterRanks rank of each adapter the workload uses (others get the options' default rank)
   */
  public LegacyReplicaSimulator(ResolvedReplica replica, Map<String, Integer> adapterRanks) {
    this(replica, adapterRanks, true, true);
  }

  /**
   * @param lazyDecodes let steady steps count decoding sequences in bulk (exact; false visits every
   *     sequence every step, for comparison)
   */
  public LegacyReplicaSimulator(ResolvedReplica replica, Map<String, Integer> adapterRanks, boolean lazyDecodes) {
    this(replica, adapterRanks, lazyDecodes, true);
  }

  /**
   * @param decodeStretches run quiet steady steps without the general machinery (exact; false steps one
   *     by one, for comparison); needs {@code lazyDecodes}
   */
  public LegacyReplicaSimulator(ResolvedReplica replica, Map<String, Integer> adapterRanks, boolean lazyDecodes,
      boolean decodeStretches) {
    this.replica = replica;
    this.adapterRanks = adapterRanks;
    this.lazyDecodes = lazyDecodes;
    this.decodeStretches = decodeStretches && lazyDecodes;
  }

  /** Runs the workload with the client its spec describes (a trace: every request sent at its arrival time). */
  /** Steps completed in bulk by this simulator's runs so far, summed (for tests: stretches are taken). */
  public long bulkSteps() {
    return bulkSteps.sum();
  }

  public RunResult run(TraceReader workload, RunOptions options) throws IOException {
    return run(ClientGate.forWorkload(workload, null), options);
  }

  /** Runs the requests {@code client} sends; it is told when each ends. */
  public RunResult run(ClientGate client, RunOptions options) throws IOException {
    SchedulerConfig c = replica.scheduler();
    Map<String, Integer> adapterIndex = new HashMap<>();
    int[][] ranks = {new int[16]};
    AdapterCache adapters = new AdapterCache(c.maxAdapters(), c.maxCpuAdapters(), 16, new AdapterCache.LoadTimes() {
      @Override
      public long fromCpuNs(int adapter) {
        return replica.perf().adapterLoadFromCpuNs(ranks[0][adapter], c.maxAdapterRank());
      }

      @Override
      public long fromStorageNs(int adapter) {
        return replica.perf().adapterLoadFromStorageNs(ranks[0][adapter]);
      }
    });
    KvBlockManager kv = new KvBlockManager(c.kvCacheTokens(), c.blockSize(), c.prefixCaching());
    Scheduler scheduler = new Scheduler(c, kv, adapters, 16, lazyDecodes);
    LegacyMetrics metrics = new LegacyMetrics(options.recordRequests(), replica.spec().starvationBoundS(), client);
    long window = options.windowNs() == null ? Long.MAX_VALUE : options.windowNs();
    metrics.window(window);
    long maxBlocks = kv.totalBlocks();

    long now = 0;
    long lastArrival = 0;
    boolean stepping = false;
    long stepEnd = 0;
    long order = 0;
    long stoppedNs = -1;
    // the decode stretch the planned step belongs to (closed: not known to be in one)
    QuietSteps quiet = new QuietSteps(replica.perf());
    run:
    while (true) {
      // quiet steps of a decode stretch: no arrival joins at the step's end and no sequence leaves
      while (quiet.open() && (client.nextSendNs() > stepEnd || client.nextSendNs() >= window)
          && !scheduler.finishDue()) {
        // in bulk, those that end before the next send, the window's end, a sample or a checkpoint
        long send = client.nextSendNs();
        quiet.limitNs = Math.min(Math.min(send < window ? send : Long.MAX_VALUE,
            options.drain() ? Long.MAX_VALUE : window), metrics.quietLimitNs(options.stopWhenStarving(), now));
        if (stepEnd < quiet.limitNs) {
          scheduler.runQuiet(quiet, metrics);
          if (quiet.completed > 0) {
            now = quiet.lastEndNs;
            metrics.observeQuiet(now, scheduler, quiet.usedBlockNs, quiet.planned);
          }
          if (quiet.replan) {
            stepping = false;
            break;
          }
          stepEnd = quiet.endNs();
          continue;
        }
        // one by one: the step that reaches a limit
        quiet.price(scheduler.shape());
        metrics.observe(stepEnd, scheduler, kv);
        now = stepEnd;
        scheduler.completeQuiet(now, metrics);
        if (options.stopWhenStarving() && now < window && metrics.starvationSettled(now)) {
          stepping = false;
          stoppedNs = now;
          break run;
        }
        if (now >= window && !options.drain()) {
          stepping = false;
          break run;
        }
        if (!scheduler.planQuiet(now)) {
          stepping = false;
          quiet.close();
          break;
        }
        stepEnd = now + quiet.next(now);
        metrics.step();
      }
      long horizon = stepping ? stepEnd : now;
      // arrivals up to the step's end (or now when idle) join the queue first: the tie rule
      for (long sentNs = client.nextSendNs(); sentNs <= horizon && sentNs < window; sentNs = client.nextSendNs()) {
        Request next = client.take();
        lastArrival = sentNs;
        String id = next.adapterId();
        int a = -1;
        if (id != null) {
          Integer known = adapterIndex.get(id);
          if (known == null) {
            known = adapterIndex.size();
            adapterIndex.put(id, known);
            int rank = adapterRanks.getOrDefault(id, options.defaultAdapterRank());
            if (rank > c.maxAdapterRank()) {
              throw new IllegalArgumentException("adapter " + id + " has rank " + rank + ", above max_adapter_rank "
                  + c.maxAdapterRank() + "; raise replica.max_adapter_rank");
            }
            if (known >= ranks[0].length) {
              ranks[0] = java.util.Arrays.copyOf(ranks[0], ranks[0].length * 2);
            }
            ranks[0][known] = rank;
            adapters.ensureAdapters(known + 1, options.preloadAdapters());
          }
          a = known;
          if (c.maxAdapters() == 0) {
            throw new IllegalArgumentException("request " + next.id() + " uses adapter " + id
                + " but replica.max_adapters is 0 (LoRA disabled)");
          }
        }
        metrics.arrived(next);
        long total = (long) next.promptTokens() + next.outputTokens();
        // a request must fit the whole KV cache by its last computed token (prompt + output - 1), or it
        // would preempt itself once the cache is full and never finish
        if (total > c.maxModelLen() || (next.promptTokens() + c.blockSize() - 1) / c.blockSize() + 1 > maxBlocks
            || (total - 1 + c.blockSize() - 1) / c.blockSize() > maxBlocks) {
          metrics.rejected(next, sentNs, client.intendedNs());
        } else {
          long[] hashes = c.prefixCaching() ? PrefixKeys.of(next, c.blockSize(), a) : new long[0];
          Sequence s = new Sequence(next.id(), order++, sentNs, a, a < 0 ? 0 : ranks[0][a],
              next.promptTokens(), next.outputTokens(), hashes);
          s.intendedNs(client.intendedNs());
          metrics.track(s, id);
          scheduler.enqueue(s);
        }
      }
      if (stepping) {
        metrics.observe(stepEnd, scheduler, kv);
        now = stepEnd;
        scheduler.complete(now, metrics);
        stepping = false;
        quiet.close();
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
        if (decodeStretches && scheduler.stretchable()) {
          quiet.start(stepEnd);
        } else {
          quiet.close();
        }
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
    bulkSteps.add(quiet.totalCompleted);
    RunSummary summary = metrics.summary(windowNs, now, scheduler, kv, adapters, replica.memory(),
        client.summary(windowNs));
    return new RunResult(summary, metrics.records(), stoppedNs);
  }

  static final class LegacyMetrics implements StepListener {
    private static final int TIMELINE_SAMPLES = 60;

    private final RequestTallies tallies;
    private final ClientGate client;
    private long windowNs = Long.MAX_VALUE;
    private long steps;
    private long lastObservedNs;
    // exact integrals (count × ns, KV blocks × ns): the same whether steps are observed one by one or in bulk
    private final TimeIntegral waitingIntegral = new TimeIntegral();
    private final TimeIntegral runningIntegral = new TimeIntegral();
    private final TimeIntegral kvBlockIntegral = new TimeIntegral();
    private long maxWaiting;
    private final List<RunSummary.Sample> timeline = new ArrayList<>();
    private long sampleEveryNs = Long.MAX_VALUE;
    private long nextSampleNs;

    /** @param client told when each request ends */
    LegacyMetrics(boolean recordRequests, double starvationBoundS, ClientGate client) {
      this.tallies = new RequestTallies(recordRequests, starvationBoundS);
      this.tallies.reportClient(client.active());
      this.client = client;
    }

    void window(long ns) {
      this.windowNs = ns;
      tallies.window(ns);
      this.sampleEveryNs = ns == Long.MAX_VALUE ? 1_000_000_000L : Math.max(1, ns / TIMELINE_SAMPLES);
    }

    void arrived(Request r) {
      tallies.arrived(r);
    }

    void rejected(Request r, long arrivalNs, long intendedNs) {
      tallies.rejected(r, arrivalNs, intendedNs);
      client.ended(arrivalNs);
    }

    void track(Sequence s, String adapterName) {
      tallies.track(s, adapterName);
    }

    boolean starvationSettled(long nowNs) {
      return tallies.starvationSettled(nowNs, windowNs);
    }

    void step() {
      steps++;
    }

    /** Integrates the time-weighted statistics up to {@code nowNs}. */
    void observe(long nowNs, Scheduler scheduler, KvBlockManager kv) {
      // the state held since the last observation is the state at every sample instant in between
      while (nextSampleNs <= nowNs && nextSampleNs <= windowNs) {
        timeline.add(new RunSummary.Sample(round(nextSampleNs / 1e9), scheduler.waitingCount(), scheduler.runningCount(),
            round((double) kv.usedBlocks() / kv.totalBlocks())));
        nextSampleNs += sampleEveryNs;
      }
      long dt = nowNs - lastObservedNs;
      if (dt > 0) {
        waitingIntegral.add(scheduler.waitingCount(), dt);
        runningIntegral.add(scheduler.runningCount(), dt);
        kvBlockIntegral.add(kv.usedBlocks(), dt);
        lastObservedNs = nowNs;
      }
      maxWaiting = Math.max(maxWaiting, scheduler.waitingCount());
    }

    /**
     * The first instant a run of quiet steps must not reach, so that {@link #observe} sees it: the next
     * timeline sample, or the next starvation checkpoint when the run stops on one (checked until the
     * window ends, {@code nowNs} being the clock).
     */
    long quietLimitNs(boolean stopWhenStarving, long nowNs) {
      long limit = nextSampleNs <= windowNs ? nextSampleNs : Long.MAX_VALUE;
      return stopWhenStarving && nowNs < windowNs ? Math.min(limit, tallies.nextStarvationCheckNs(windowNs)) : limit;
    }

    /**
     * Quiet steps ran from the last observation to {@code nowNs} (before {@link #quietLimitNs}): the waiting
     * and running counts held, and the KV blocks in use integrate to {@code usedBlockNs}.
     */
    void observeQuiet(long nowNs, Scheduler scheduler, long usedBlockNs, long steps) {
      long dt = nowNs - lastObservedNs;
      if (dt > 0) {
        waitingIntegral.add(scheduler.waitingCount(), dt);
        runningIntegral.add(scheduler.runningCount(), dt);
        kvBlockIntegral.addSum(usedBlockNs);
        lastObservedNs = nowNs;
      }
      maxWaiting = Math.max(maxWaiting, scheduler.waitingCount());
      this.steps += steps;
    }

    @Override
    public void onFirstToken(Sequence s, long nowNs) {
      tallies.onFirstToken(s, nowNs);
    }

    @Override
    public void onToken(Sequence s, long gapNs) {
      tallies.onToken(s, gapNs);
    }

    @Override
    public boolean acceptsBulkTokens() {
      return true;
    }

    @Override
    public void onTokens(long gapNs, long count) {
      tallies.onTokens(gapNs, count);
    }

    @Override
    public long tokenGapBucketEndNs(long gapNs) {
      return tallies.tokenGapBucketEndNs(gapNs);
    }

    @Override
    public void onTimedOut(Sequence s, long nowNs) {
      tallies.onTimedOut(s, nowNs);
      client.ended(nowNs);
    }

    @Override
    public void onFinished(Sequence s, long nowNs) {
      tallies.onFinished(s, nowNs);
      client.ended(nowNs);
    }

    List<RequestRecord> records() {
      return tallies.records();
    }

    RunSummary summary(long windowNs, long endNs, Scheduler scheduler, KvBlockManager kv, AdapterCache adapters,
        MemoryBreakdown m, ClientSummary clientSummary) {
      // requests still waiting at the end starve if they have waited longer than the bound
      long stillWaitingStarved = scheduler.countWaitingSince(endNs - tallies.starvationBoundNs());
      RequestTallies.Figures f = tallies.figures(windowNs, stillWaitingStarved);
      double span = Math.max(1, lastObservedNs);
      return new RunSummary(f.windowS(), f.arrived(), f.finished(), f.rejected(), f.timedOut(), f.unfinished(),
          f.offered(), f.achieved(), f.starving(), f.starvedRequests(), f.starvationBoundS(),
          f.ttft(), f.ttftFromIntended(), f.itl(), f.e2e(), f.queueWait(),
          scheduler.queriedPromptTokens() == 0 ? 0 : round((double) scheduler.cachedPromptTokens() / scheduler.queriedPromptTokens()),
          adapters.loads(), adapters.storageLoads(), round(adapters.loadNs() / 1e9), scheduler.preemptions(), steps,
          round(waitingIntegral.value() / span), maxWaiting, round(runningIntegral.value() / span),
          round(kvBlockIntegral.value() / kv.totalBlocks() / span),
          RunSummary.Memory.of(m), timelineFor(timeline), clientSummary);
    }

    /** Up to 60 samples, evenly spaced over the window (runs without a window are thinned afterwards). */
    static <T> List<T> timelineFor(List<T> timeline) {
      if (timeline.size() <= TIMELINE_SAMPLES) {
        return List.copyOf(timeline);
      }
      List<T> out = new ArrayList<>();
      double step = (double) timeline.size() / TIMELINE_SAMPLES;
      for (int i = 0; i < TIMELINE_SAMPLES; i++) {
        out.add(timeline.get((int) (i * step)));
      }
      return out;
    }

    static double round(double v) {
      return RequestTallies.round(v);
    }
  }
}

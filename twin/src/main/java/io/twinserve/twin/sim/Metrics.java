package io.twinserve.twin.sim;

import io.twinserve.traces.Request;
import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.client.ClientGate;
import io.twinserve.twin.kv.KvBlockManager;
import io.twinserve.twin.memory.MemoryBreakdown;
import io.twinserve.twin.metrics.ClientSummary;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.metrics.RequestTallies;
import io.twinserve.twin.metrics.RunSummary;
import io.twinserve.twin.metrics.TimeIntegral;
import io.twinserve.twin.sched.Scheduler;
import io.twinserve.twin.sched.Sequence;
import io.twinserve.twin.sched.StepListener;
import java.util.ArrayList;
import java.util.List;

/**
 * Collects a single-replica run's metrics: per-observation tallies ({@link RequestTallies}) apart from
 * time-weighted statistics (queue lengths, KV use, integrated between observations).
 */
final class Metrics implements StepListener {
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
  Metrics(boolean recordRequests, double starvationBoundS, ClientGate client) {
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

package io.twinserve.twin.sim;

import io.twinserve.traces.Request;
import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.kv.KvBlockManager;
import io.twinserve.twin.memory.MemoryBreakdown;
import io.twinserve.twin.metrics.Latency;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.metrics.RunSummary;
import io.twinserve.twin.sched.Scheduler;
import io.twinserve.twin.sched.Sequence;
import io.twinserve.twin.sched.StepListener;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * Collects a run's metrics: per-observation tallies (latency histograms in microseconds, token counts)
 * apart from time-weighted statistics (queue lengths, KV use, integrated between observations).
 */
final class Metrics implements StepListener {
  private static final long MAX_MICROS = 1000L * 3600 * 1_000_000;
  private static final int TIMELINE_SAMPLES = 60;

  private final boolean recordRequests;
  private final long starvationBoundNs;
  private final Histogram ttft = new Histogram(MAX_MICROS, 3);
  private final Histogram itl = new Histogram(MAX_MICROS, 3);
  private final Histogram e2e = new Histogram(MAX_MICROS, 3);
  private final Histogram wait = new Histogram(MAX_MICROS, 3);
  private final List<Sequence> tracked = new ArrayList<>();
  private final Map<Sequence, String> adapterNames = new IdentityHashMap<>();
  private final List<RequestRecord> rejected = new ArrayList<>();
  private long windowNs = Long.MAX_VALUE;
  private long arrived;
  private long arrivedInput;
  private long arrivedOutput;
  private long rejectedCount;
  private long finished;
  private long finishedInWindow;
  private long finishedInput;
  private long finishedOutput;
  private long starved;
  private long steps;
  private long lastObservedNs;
  private double waitingIntegral;
  private double runningIntegral;
  private double kvIntegral;
  private long maxWaiting;
  private final List<RunSummary.Sample> timeline = new ArrayList<>();
  private long sampleEveryNs = Long.MAX_VALUE;
  private long nextSampleNs;

  Metrics(boolean recordRequests, double starvationBoundS) {
    this.recordRequests = recordRequests;
    this.starvationBoundNs = (long) (starvationBoundS * 1e9);
  }

  void window(long ns) {
    this.windowNs = ns;
    this.sampleEveryNs = ns == Long.MAX_VALUE ? 1_000_000_000L : Math.max(1, ns / TIMELINE_SAMPLES);
  }

  void arrived(Request r) {
    arrived++;
    arrivedInput += r.promptTokens();
    arrivedOutput += r.outputTokens();
  }

  void rejected(Request r, int adapter) {
    rejectedCount++;
    if (recordRequests) {
      rejected.add(new RequestRecord(r.id(), r.adapterId(), r.arrivalNs(), -1, -1, -1, r.promptTokens(),
          r.outputTokens(), 0, 0, 0, RequestRecord.Outcome.REJECTED));
    }
  }

  void track(Sequence s, String adapterName) {
    if (recordRequests) {
      tracked.add(s);
      if (adapterName != null) {
        adapterNames.put(s, adapterName);
      }
    }
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
      long w = scheduler.waitingCount();
      waitingIntegral += (double) w * dt;
      runningIntegral += (double) scheduler.runningCount() * dt;
      kvIntegral += (double) kv.usedBlocks() / kv.totalBlocks() * dt;
      lastObservedNs = nowNs;
    }
    maxWaiting = Math.max(maxWaiting, scheduler.waitingCount());
  }

  @Override
  public void onFirstToken(Sequence s, long nowNs) {
    ttft.recordValue(micros(nowNs - s.arrivalNs()));
    long waited = s.firstScheduledNs() - s.arrivalNs();
    wait.recordValue(micros(waited));
    if (waited > starvationBoundNs) {
      starved++;
    }
  }

  @Override
  public void onToken(Sequence s, long gapNs) {
    itl.recordValue(micros(gapNs));
  }

  @Override
  public boolean acceptsBulkTokens() {
    return true;
  }

  @Override
  public void onTokens(long gapNs, long count) {
    itl.recordValueWithCount(micros(gapNs), count);
  }

  @Override
  public void onFinished(Sequence s, long nowNs) {
    finished++;
    e2e.recordValue(micros(nowNs - s.arrivalNs()));
    if (nowNs <= windowNs) {
      finishedInWindow++;
      finishedInput += s.promptTokens();
      finishedOutput += s.outputTokens();
    }
  }

  private static long micros(long ns) {
    return Math.min(MAX_MICROS, Math.max(0, ns / 1000));
  }

  List<RequestRecord> records() {
    if (!recordRequests) {
      return List.of();
    }
    List<RequestRecord> out = new ArrayList<>(tracked.size() + rejected.size());
    for (Sequence s : tracked) {
      out.add(new RequestRecord(s.requestId(), adapterNames.get(s), s.arrivalNs(), s.firstScheduledNs(),
          s.firstTokenNs(), s.finishNs(), s.promptTokens(), s.outputTokens(), s.generated(), s.cachedTokens(),
          s.preemptions(), s.finishNs() >= 0 ? RequestRecord.Outcome.FINISHED : RequestRecord.Outcome.UNFINISHED));
    }
    out.addAll(rejected);
    out.sort((a, b) -> Long.compare(a.id(), b.id()));
    return out;
  }

  RunSummary summary(long windowNs, long endNs, Scheduler scheduler, AdapterCache adapters, MemoryBreakdown m) {
    double w = windowNs / 1e9;
    // requests still waiting at the end starve if they have waited longer than the bound
    long stillWaitingStarved = scheduler.countWaitingSince(endNs - starvationBoundNs);
    double span = Math.max(1, lastObservedNs);
    RunSummary.Throughput offered = new RunSummary.Throughput(round(arrived / w), round(arrivedInput / w),
        round(arrivedOutput / w), round((arrivedInput + arrivedOutput) / w));
    RunSummary.Throughput achieved = new RunSummary.Throughput(round(finishedInWindow / w),
        round(finishedInput / w), round(finishedOutput / w), round((finishedInput + finishedOutput) / w));
    boolean starving = achieved.totalTokensPerS() < 0.9 * offered.totalTokensPerS();
    double gib = 1L << 30;
    return new RunSummary(round(w), arrived, finished, rejectedCount, arrived - finished - rejectedCount,
        offered, achieved, starving, starved + stillWaitingStarved, starvationBoundNs / 1e9,
        Latency.of(ttft), Latency.of(itl), Latency.of(e2e), Latency.of(wait),
        scheduler.queriedPromptTokens() == 0 ? 0 : round((double) scheduler.cachedPromptTokens() / scheduler.queriedPromptTokens()),
        adapters.loads(), adapters.storageLoads(), round(adapters.loadNs() / 1e9), scheduler.preemptions(), steps,
        round(waitingIntegral / span), maxWaiting, round(runningIntegral / span), round(kvIntegral / span),
        new RunSummary.Memory(round(m.budgetBytes() / gib), round(m.weightBytes() / gib),
            round(m.adapterSlotBytes() / gib), round(m.activationBytes() / gib), round(m.kvCacheBytes() / gib),
            m.kvCacheTokens()),
        timelineFor());
  }

  /** Up to 60 samples, evenly spaced over the window (runs without a window are thinned afterwards). */
  private List<RunSummary.Sample> timelineFor() {
    if (timeline.size() <= TIMELINE_SAMPLES) {
      return List.copyOf(timeline);
    }
    List<RunSummary.Sample> out = new ArrayList<>();
    double step = (double) timeline.size() / TIMELINE_SAMPLES;
    for (int i = 0; i < TIMELINE_SAMPLES; i++) {
      out.add(timeline.get((int) (i * step)));
    }
    return out;
  }

  /** Rounded to 6 significant decimals so that JSON output is stable and readable. */
  static double round(double v) {
    if (!Double.isFinite(v)) {
      return v;
    }
    return Math.round(v * 1e6) / 1e6;
  }
}

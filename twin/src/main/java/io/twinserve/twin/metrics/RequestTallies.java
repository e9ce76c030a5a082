package io.twinserve.twin.metrics;

import io.twinserve.traces.Request;
import io.twinserve.twin.sched.Sequence;
import io.twinserve.twin.sched.StepListener;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The per-observation tallies of a run (or of one deployment of a cluster): request counts, token counts
 * and latency histograms in microseconds, fed by the scheduler's step events. Time-weighted statistics
 * (queue lengths, KV use) are kept apart by their owners.
 */
public final class RequestTallies implements StepListener {
    private static final long MAX_MICROS = 1000L * 3600 * 1_000_000;

    private final boolean recordRequests;
    private final long starvationBoundNs;
    final LatencyHistogram ttft = new LatencyHistogram();
    final LatencyHistogram ttftFromIntended = new LatencyHistogram();
    final LatencyHistogram itl = new LatencyHistogram();
    final LatencyHistogram e2e = new LatencyHistogram();
    final LatencyHistogram wait = new LatencyHistogram();
    private final List<Sequence> tracked = new ArrayList<>();
    private final Map<Sequence, String> adapterNames = new IdentityHashMap<>();
    private final List<RequestRecord> rejected = new ArrayList<>();
    private long windowNs = Long.MAX_VALUE;
    private boolean reportClient;
    long arrived;
    long arrivedInput;
    long arrivedOutput;
    long rejectedCount;
    long timedOut;
    long finished;
    long finishedInWindow;
    long finishedInput;
    long finishedOutput;
    long starved;
    // first tokens since the last interval() call: what an autoscaler reacts to
    private long intervalFirstTokens;
    private double intervalTtftSumNs;

    public RequestTallies(boolean recordRequests, double starvationBoundS) {
        this.recordRequests = recordRequests;
        this.starvationBoundNs = (long) (starvationBoundS * 1e9);
    }

    public void window(long ns) {
        this.windowNs = ns;
    }

    /**
     * Report what a benchmark client sees as well: TTFT from the intended send time and each record's
     * intended time (set when a workload has a client block or a cap).
     */
    public void reportClient(boolean report) {
        this.reportClient = report;
    }

    public long starvationBoundNs() {
        return starvationBoundNs;
    }

    public void arrived(Request r) {
        arrived++;
        arrivedInput += r.promptTokens();
        arrivedOutput += r.outputTokens();
    }

    /** A request refused on arrival at {@code arrivalNs} (its send), meant to be sent at {@code intendedNs}. */
    public void rejected(Request r, long arrivalNs, long intendedNs) {
        rejectedCount++;
        if (recordRequests) {
            rejected.add(new RequestRecord(
                    r.id(),
                    r.adapterId(),
                    arrivalNs,
                    reportClient ? intendedNs : null,
                    -1,
                    -1,
                    -1,
                    r.promptTokens(),
                    r.outputTokens(),
                    0,
                    0,
                    0,
                    RequestRecord.Outcome.REJECTED));
        }
    }

    public void track(Sequence s, String adapterName) {
        if (recordRequests) {
            tracked.add(s);
            if (adapterName != null) {
                adapterNames.put(s, adapterName);
            }
        }
    }

    @Override
    public void onFirstToken(Sequence s, long nowNs) {
        long ttftNs = nowNs - s.arrivalNs();
        ttft.recordValue(micros(ttftNs));
        if (reportClient) {
            ttftFromIntended.recordValue(micros(nowNs - s.intendedNs()));
        }
        intervalFirstTokens++;
        intervalTtftSumNs += ttftNs;
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

    /**
     * The end of the ITL histogram bucket of {@code gapNs}, in ns: the histogram keeps counts per bucket and
     * reports bucket values (mean, percentiles, max), so the gaps of one bucket are recorded alike.
     */
    @Override
    public long tokenGapBucketEndNs(long gapNs) {
        long m = micros(gapNs);
        if (m >= MAX_MICROS) {
            return Long.MAX_VALUE;
        }
        long next = itl.nextNonEquivalentValue(m);
        return next > MAX_MICROS ? Long.MAX_VALUE : next * 1000;
    }

    @Override
    public void onTimedOut(Sequence s, long nowNs) {
        timedOut++;
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

    public long arrivedCount() {
        return arrived;
    }

    public long timedOutCount() {
        return timedOut;
    }

    public long finishedCount() {
        return finished;
    }

    /** Tokens (input + output) of requests finished within the window. */
    public long finishedTokensInWindow() {
        return finishedInput + finishedOutput;
    }

    /**
     * Whether a windowed run is settled as starving at {@code nowNs}, so that simulating the rest of the
     * window cannot change the study's verdict for a stationary workload. Checked at every 1% of the
     * window once {@link #SETTLE_MIN_FRACTION} of it and {@link #SETTLE_MIN_NS} have passed: the arrival and finishing rates are
     * measured over the second half of the time so far (past the start-up ramp), the finishing rate must
     * have stopped growing (the last quarter within {@link #SETTLE_STEADY} of the one before: a replica
     * that keeps up but is still ramping finishes ever faster), the backlog (tokens
     * arrived but not finished) is projected to the window's end at their difference, and the run is
     * settled when that projection exceeds {@link #SETTLE_MARGIN} times the 10% allowance of the offered
     * load projected likewise. A replica that keeps up finishes as fast as requests arrive, so its
     * projection stays at its in-flight work; runs near the boundary are simulated to the end and judged
     * exactly.
     */
    public boolean starvationSettled(long nowNs, long windowNs) {
        if (windowNs == Long.MAX_VALUE) {
            return false;
        }
        long every = Math.max(1, windowNs / CHECKPOINTS);
        int k = (int) Math.min(CHECKPOINTS, nowNs / every);
        if (k <= lastCheckpoint) {
            return false;
        }
        long offered = arrivedInput + arrivedOutput;
        long done = finishedInput + finishedOutput;
        for (int i = lastCheckpoint + 1; i <= k; i++) {
            checkpointOffered[i] = offered;
            checkpointFinished[i] = done;
        }
        lastCheckpoint = k;
        if (k < SETTLE_MIN_FRACTION * CHECKPOINTS || nowNs < SETTLE_MIN_NS) {
            return false;
        }
        int half = k / 2;
        int threeQuarters = (half + k) / 2;
        double span = (double) (k - half) * every;
        double arrivalRate = (offered - checkpointOffered[half]) / span;
        double finishRate = (done - checkpointFinished[half]) / span;
        // a replica still ramping up finishes faster and faster; an overloaded one finishes at a steady rate
        double early = (double) (checkpointFinished[threeQuarters] - checkpointFinished[half]) / (threeQuarters - half);
        double late = (double) (done - checkpointFinished[threeQuarters]) / (k - threeQuarters);
        if (late > early * (1 + SETTLE_STEADY)) {
            return false;
        }
        double rest = Math.max(0, windowNs - nowNs);
        double backlogAtEnd = (offered - done) + Math.max(0, arrivalRate - finishRate) * rest;
        double offeredAtEnd = offered + arrivalRate * rest;
        return backlogAtEnd > SETTLE_MARGIN * 0.1 * offeredAtEnd;
    }

    /**
     * The first instant at which {@link #starvationSettled} checks anything (the next checkpoint), in ns:
     * before it the call only returns false.
     */
    public long nextStarvationCheckNs(long windowNs) {
        if (windowNs == Long.MAX_VALUE || lastCheckpoint >= CHECKPOINTS) {
            return Long.MAX_VALUE;
        }
        long every = Math.max(1, windowNs / CHECKPOINTS);
        return (lastCheckpoint + 1) * every;
    }

    private static final int CHECKPOINTS = 100;
    private final long[] checkpointOffered = new long[CHECKPOINTS + 1];
    private final long[] checkpointFinished = new long[CHECKPOINTS + 1];
    private int lastCheckpoint;

    /** See {@link #starvationSettled}. */
    public static final double SETTLE_MIN_FRACTION = 0.1;

    /** Nor before this much virtual time (5 minutes), however short the window. */
    public static final long SETTLE_MIN_NS = 300_000_000_000L;

    /** See {@link #starvationSettled}. */
    public static final double SETTLE_MARGIN = 2.5;

    /** How much faster the last quarter may finish than the one before for a run to count as steady. */
    public static final double SETTLE_STEADY = 0.03;

    /** Mean TTFT of the first tokens since the previous call, in ns (NaN when there were none); resets. */
    public double intervalMeanTtftNs() {
        double mean = intervalFirstTokens == 0 ? Double.NaN : intervalTtftSumNs / intervalFirstTokens;
        intervalFirstTokens = 0;
        intervalTtftSumNs = 0;
        return mean;
    }

    private static long micros(long ns) {
        return Math.min(MAX_MICROS, Math.max(0, ns / 1000));
    }

    /** One record per request (when recording), sorted by request id. */
    public List<RequestRecord> records() {
        if (!recordRequests) {
            return List.of();
        }
        List<RequestRecord> out = new ArrayList<>(tracked.size() + rejected.size());
        for (Sequence s : tracked) {
            RequestRecord.Outcome outcome = s.timedOut()
                    ? RequestRecord.Outcome.TIMED_OUT
                    : s.finishNs() >= 0 ? RequestRecord.Outcome.FINISHED : RequestRecord.Outcome.UNFINISHED;
            out.add(new RequestRecord(
                    s.requestId(),
                    adapterNames.get(s),
                    s.arrivalNs(),
                    reportClient ? s.intendedNs() : null,
                    s.firstScheduledNs(),
                    s.firstTokenNs(),
                    s.finishNs(),
                    s.promptTokens(),
                    s.outputTokens(),
                    s.generated(),
                    s.cachedTokens(),
                    s.preemptions(),
                    outcome));
        }
        out.addAll(rejected);
        out.sort((a, b) -> Long.compare(a.id(), b.id()));
        return out;
    }

    /**
     * The request figures of a summary over {@code windowNs}; {@code stillWaitingStarved} counts the
     * requests still waiting at the end for longer than the starvation bound.
     */
    public Figures figures(long windowNs, long stillWaitingStarved) {
        double w = windowNs / 1e9;
        RunSummary.Throughput offered = new RunSummary.Throughput(
                round(arrived / w),
                round(arrivedInput / w),
                round(arrivedOutput / w),
                round((arrivedInput + arrivedOutput) / w));
        RunSummary.Throughput achieved = new RunSummary.Throughput(
                round(finishedInWindow / w),
                round(finishedInput / w),
                round(finishedOutput / w),
                round((finishedInput + finishedOutput) / w));
        // the adapter-caching study's definition: more than 10% of the offered tokens not served
        boolean starving = achieved.totalTokensPerS() < 0.9 * offered.totalTokensPerS();
        return new Figures(
                round(w),
                arrived,
                finished,
                rejectedCount,
                timedOut,
                arrived - finished - rejectedCount - timedOut,
                offered,
                achieved,
                starving,
                starved + stillWaitingStarved,
                starvationBoundNs / 1e9,
                ttft.latency(),
                reportClient ? ttftFromIntended.latency() : null,
                itl.latency(),
                e2e.latency(),
                wait.latency());
    }

    /**
     * The request figures shared by run and deployment summaries; {@code ttftFromIntended} is null unless
     * client figures are reported.
     */
    public record Figures(
            double windowS,
            long arrived,
            long finished,
            long rejected,
            long timedOut,
            long unfinished,
            RunSummary.Throughput offered,
            RunSummary.Throughput achieved,
            boolean starving,
            long starvedRequests,
            double starvationBoundS,
            Latency ttft,
            Latency ttftFromIntended,
            Latency itl,
            Latency e2e,
            Latency queueWait) {}

    /** Rounded to 6 significant decimals so that JSON output is stable and readable. */
    public static double round(double v) {
        if (!Double.isFinite(v)) {
            return v;
        }
        return Math.round(v * 1e6) / 1e6;
    }
}

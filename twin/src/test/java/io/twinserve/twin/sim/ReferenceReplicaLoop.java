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
import io.twinserve.twin.replica.AdapterIndex;
import io.twinserve.twin.replica.ReplicaCore;
import io.twinserve.twin.sched.Scheduler;
import io.twinserve.twin.sched.Sequence;
import io.twinserve.twin.sched.StepListener;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The plain single-replica loop the twin had before its single-replica runs became one-replica cluster
 * runs, kept as an oracle for the cluster's loop: one step after another, arrivals pulled up to each
 * step's end, no event queue. With the run drained, both must agree request for request.
 *
 * <p>Two known differences when a window cuts a run short (not drained): this loop completes the step
 * under way at the window's end (its tokens count), and it counts requests that arrive during a step as
 * waiting from the step's start.
 */
public final class ReferenceReplicaLoop {
    private final ResolvedReplica replica;
    private final Map<String, Integer> adapterRanks;
    private final boolean lazyDecodes;

    /**
     * @param adapterRanks rank of each adapter the workload uses (others get the options' default rank)
     */
    public ReferenceReplicaLoop(ResolvedReplica replica, Map<String, Integer> adapterRanks) {
        this(replica, adapterRanks, true);
    }

    /**
     * @param lazyDecodes let steady steps count decoding sequences in bulk (exact; false visits every
     *     sequence every step, for comparison)
     */
    public ReferenceReplicaLoop(ResolvedReplica replica, Map<String, Integer> adapterRanks, boolean lazyDecodes) {
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
        AdapterIndex adapterIndex = new AdapterIndex(
                replica.scheduler().maxAdapters(), replica.scheduler().maxAdapterRank(), "");
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
            for (long sentNs = client.nextSendNs();
                    sentNs <= horizon && sentNs < window;
                    sentNs = client.nextSendNs()) {
                Request next = client.take();
                lastArrival = sentNs;
                int a = adapterIndex.indexOf(next, adapterRanks, options.defaultAdapterRank());
                core.knowAdapters(adapterIndex.size(), options.preloadAdapters());
                metrics.arrived(next);
                if (!core.admissible(next.promptTokens(), next.outputTokens())) {
                    metrics.rejected(next, sentNs, client.intendedNs());
                } else {
                    long[] hashes = core.prefixKeys(next, a);
                    Sequence s = new Sequence(
                            next.id(),
                            order++,
                            sentNs,
                            a,
                            adapterIndex.rank(a),
                            next.promptTokens(),
                            next.outputTokens(),
                            hashes);
                    s.intendedNs(client.intendedNs());
                    metrics.track(s, next.adapterId());
                    scheduler.enqueue(s);
                }
            }
            if (stepping) {
                metrics.observe(stepEnd, scheduler, kv, adapters);
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
            metrics.observe(wake, scheduler, kv, adapters);
            now = Math.max(now, wake);
        }
        scheduler.materialize();
        // without a window, the run lasts until its last request finishes (the makespan)
        long windowNs = stoppedNs >= 0
                ? stoppedNs
                : options.windowNs() != null ? options.windowNs() : Math.max(now, Math.max(lastArrival, 1));
        metrics.observe(Math.max(now, windowNs), scheduler, kv, adapters);
        RunSummary summary =
                metrics.summary(windowNs, now, scheduler, adapters, replica.memory(), client.summary(windowNs));
        return new RunResult(summary, metrics.records(), stoppedNs);
    }

    private static final class Metrics implements StepListener {
        private static final int TIMELINE_SAMPLES = 60;

        private final RequestTallies tallies;
        private final ClientGate client;
        private long windowNs = Long.MAX_VALUE;
        private long steps;
        private long lastObservedNs;
        private double waitingIntegral;
        private double runningIntegral;
        private double kvIntegral;
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
        void observe(long nowNs, Scheduler scheduler, KvBlockManager kv, AdapterCache adapters) {
            // the state held since the last observation is the state at every sample instant in between
            while (nextSampleNs <= nowNs && nextSampleNs <= windowNs) {
                timeline.add(new RunSummary.Sample(
                        round(nextSampleNs / 1e9),
                        scheduler.waitingCount(),
                        scheduler.runningCount(),
                        round((double) kv.usedBlocks() / kv.totalBlocks()),
                        adapters.residentAdapters()));
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

        RunSummary summary(
                long windowNs,
                long endNs,
                Scheduler scheduler,
                AdapterCache adapters,
                MemoryBreakdown m,
                ClientSummary clientSummary) {
            // requests still waiting at the end starve if they have waited longer than the bound
            long stillWaitingStarved = scheduler.countWaitingSince(endNs - tallies.starvationBoundNs());
            RequestTallies.Figures f = tallies.figures(windowNs, stillWaitingStarved);
            double span = Math.max(1, lastObservedNs);
            return new RunSummary(
                    f.windowS(),
                    f.arrived(),
                    f.finished(),
                    f.rejected(),
                    f.timedOut(),
                    f.unfinished(),
                    f.offered(),
                    f.achieved(),
                    f.starving(),
                    f.starvedRequests(),
                    f.starvationBoundS(),
                    f.ttft(),
                    f.ttftFromIntended(),
                    f.itl(),
                    f.e2e(),
                    f.queueWait(),
                    scheduler.queriedPromptTokens() == 0
                            ? 0
                            : round((double) scheduler.cachedPromptTokens() / scheduler.queriedPromptTokens()),
                    adapters.loads(),
                    adapters.storageLoads(),
                    round(adapters.loadNs() / 1e9),
                    scheduler.preemptions(),
                    steps,
                    round(waitingIntegral / span),
                    maxWaiting,
                    round(runningIntegral / span),
                    round(kvIntegral / span),
                    RunSummary.Memory.of(m),
                    timelineFor(timeline),
                    clientSummary);
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

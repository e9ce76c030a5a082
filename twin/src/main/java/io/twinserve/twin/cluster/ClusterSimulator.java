package io.twinserve.twin.cluster;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.gen.ThinkTimes;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.ClientSpec;
import io.twinserve.twin.autoscale.Autoscaler;
import io.twinserve.twin.autoscale.AutoscalerSpec;
import io.twinserve.twin.client.ClientGate;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.replica.PrefixKeys;
import io.twinserve.twin.router.RouterSpec;
import io.twinserve.twin.sched.QuietSteps;
import io.twinserve.twin.sched.Sequence;
import io.twinserve.twin.sim.RunOptions;
import io.twinserve.twin.sim.RunResult;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Simulates a cluster on a virtual clock: traffic sources feed deployments, each deployment's router
 * sends every request to one of its replicas, and every replica runs the twin core's scheduler, KV
 * manager and adapter cache as a single-replica run does. Around them: TTFT deadlines (408), the
 * autoscaler with cold starts and draining, and GPU-hours and cost per pool.
 *
 * <p>The loop takes events from one queue ordered by (time, phase, sequence); {@link Event} states the
 * phases. Requests stream from the sources (one pending arrival per source), so a trace of any length
 * runs in bounded memory. A cluster of one replica with round-robin routing and no deadline reproduces a
 * single-replica run request for request (a test pins it).
 *
 * <p>Each source reaches the cluster through its own {@link ClientGate}: a request arrives when its client
 * sends it, at its workload arrival time unless the client holds it back (a cap on outstanding requests,
 * or closed-loop users), and the client hears when each of its requests ends. TTFT deadlines count from
 * the arrival (the send): the server knows nothing of the client's wait.
 *
 * <p>Why it is long: it is the twin's one loop (single-replica runs are one-replica runs of it), with its
 * event handlers and the decode-stretch fast path; the autoscaler policy is in {@code twin/autoscale} and
 * the report in {@link ClusterReport}. REDESIGN.md (issue 18) moves the loop to {@code twin/sim/Simulator}.
 */
public final class ClusterSimulator {
    private static final long[] NO_KEYS = new long[0];

    private final ResolvedCluster cluster;
    private final boolean lazyDecodes;
    private final boolean decodeStretches;
    /** Whether error messages name the deployment (a single replica's run has none to name). */
    private final boolean namesDeployments;

    private final LongAdder bulkSteps = new LongAdder();

    public ClusterSimulator(ResolvedCluster cluster) {
        this(cluster, true);
    }

    /**
     * @param decodeStretches run a replica's quiet steady steps at once when no other event falls between
     *     them (exact; false steps one by one, for comparison)
     */
    public ClusterSimulator(ResolvedCluster cluster, boolean decodeStretches) {
        this(cluster, true, decodeStretches, true);
    }

    /**
     * @param lazyDecodes let steady steps count decoding sequences in bulk (exact; false visits every
     *     sequence every step, for comparison)
     * @param decodeStretches run quiet steady steps in bulk (exact; needs {@code lazyDecodes})
     */
    private ClusterSimulator(
            ResolvedCluster cluster, boolean lazyDecodes, boolean decodeStretches, boolean namesDeployments) {
        this.cluster = cluster;
        this.lazyDecodes = lazyDecodes;
        this.decodeStretches = decodeStretches && lazyDecodes;
        this.namesDeployments = namesDeployments;
    }

    /**
     * One source of requests for one deployment.
     *
     * @param adapterRanks ranks of the adapters it names
     * @param defaultAdapterRank rank of the other adapters (traces carry none); null: the run options'
     * @param client how its client sends (null: as the reader's workload spec says, if it is a generator;
     *     otherwise every request at its arrival time)
     * @param thinkTimes the closed-loop client's think times (null: none)
     */
    public record Traffic(
            int deployment,
            TraceReader reader,
            Map<String, Integer> adapterRanks,
            Integer defaultAdapterRank,
            ClientSpec client,
            ThinkTimes thinkTimes) {

        public Traffic(
                int deployment, TraceReader reader, Map<String, Integer> adapterRanks, Integer defaultAdapterRank) {
            this(deployment, reader, adapterRanks, defaultAdapterRank, null, null);
        }

        public Traffic(int deployment, TraceReader reader, Map<String, Integer> adapterRanks) {
            this(deployment, reader, adapterRanks, null);
        }

        /** The same source with its client's cap set to {@code maxOutstanding} (the command line's override). */
        public Traffic withMaxOutstanding(int maxOutstanding) {
            ClientSpec base = client;
            ThinkTimes think = thinkTimes;
            if (base == null && reader instanceof WorkloadGenerator g) {
                base = g.spec().client();
                think = g.thinkTimes();
            }
            return new Traffic(
                    deployment,
                    reader,
                    adapterRanks,
                    defaultAdapterRank,
                    base == null ? ClientSpec.capped(maxOutstanding) : base.withMaxOutstanding(maxOutstanding),
                    think);
        }

        ClientGate gate() throws IOException {
            return client == null ? ClientGate.forWorkload(reader, null) : ClientGate.of(reader, client, thinkTimes);
        }
    }

    /** Steps completed in bulk by this simulator's runs so far, summed (for tests: stretches are taken). */
    public long bulkSteps() {
        return bulkSteps.sum();
    }

    public ClusterResult run(List<Traffic> traffic, RunOptions options) throws IOException {
        Run run = new Run(traffic, null, options);
        return run.finish(run.loop());
    }

    /**
     * A single replica's run: the same loop on a cluster of that one replica (no router choice, no TTFT
     * deadline, no autoscaler), summarized as a single replica's run.
     *
     * @param client the requests to send; it is told when each ends
     * @param adapterRanks rank of each adapter the workload uses (others get the options' default rank)
     * @param lazyDecodes let steady steps count decoding sequences in bulk (exact; false visits every
     *     sequence every step, for comparison)
     * @param decodeStretches run quiet steady steps in bulk (exact; false steps one by one; needs {@code
     *     lazyDecodes})
     * @param bulkSteps counts the steps completed in bulk
     */
    public static RunResult runReplica(
            ResolvedReplica replica,
            ClientGate client,
            Map<String, Integer> adapterRanks,
            boolean lazyDecodes,
            boolean decodeStretches,
            LongAdder bulkSteps,
            RunOptions options)
            throws IOException {
        ClusterSimulator simulator = new ClusterSimulator(oneReplica(replica), lazyDecodes, decodeStretches, false);
        Run run = simulator.new Run(List.of(new Traffic(0, null, adapterRanks)), new ClientGate[] {client}, options);
        RunResult result = run.replicaResult(run.loop());
        bulkSteps.add(simulator.bulkSteps());
        return result;
    }

    /** A cluster of one pool that holds exactly one replica of {@code replica}, always up. */
    private static ResolvedCluster oneReplica(ResolvedReplica replica) {
        DeploymentSpec d = replica.spec();
        PoolSpec pool =
                new PoolSpec("replica", replica.gpu().name(), d.replica().tp(), 1, 0.0);
        ClusterDeploymentSpec deployment = new ClusterDeploymentSpec(
                d.name(),
                d.model(),
                d.replica(),
                d.perfModel(),
                List.of(pool.name()),
                ReplicaBounds.of(1),
                new RouterSpec.RoundRobin(),
                new AutoscalerSpec.Fixed(),
                Double.POSITIVE_INFINITY,
                d.starvationBoundS());
        ClusterSpec spec = new ClusterSpec(d.name(), List.of(pool), List.of(deployment), null);
        return new ResolvedCluster(
                spec,
                List.of(new ResolvedCluster.Pool(0, pool, replica.gpu(), null)),
                List.of(new ResolvedCluster.Deployment(
                        0, deployment, List.of(new ResolvedCluster.PoolOption(0, replica)))));
    }

    /** One run: the mutable state, so that a simulator can run many times and every run starts afresh. */
    private final class Run {
        private final List<Traffic> sources;
        private final RunOptions options;
        private final EventQueue queue = new EventQueue();
        private final Placement placement = new Placement(cluster.pools());
        private final List<DeploymentRun> deployments = new ArrayList<>();
        private final ClientGate[] clients;
        /**
         * Per source: when its armed send is due (MAX when none), the queue's sequence number of that send,
         * whether it may still send, and its arrival event (one, queued again for every send).
         */
        // each source's armed send (its arrival event is that plus its deployment's request latency)
        private final long[] armedNs;

        private final long[] latencyNs;
        private final long[] armedToken;
        private final Event.RequestArrived[] arrivals;
        private final boolean[] open;
        private final Replica.Ends ends = this::onRequestEnded;
        private final long window;
        private final ClientGate[] gates;
        /** When the run stopped because its starvation was settled, or -1. */
        private long stoppedNs = -1;
        /** The end of the last step completed within a decode stretch (the clock lags it until the next event). */
        private long clockNs;

        private int nextReplicaId;
        private int openSources;
        private long lastArrival;

        /** @param gates each source's client, or null to build them from the sources */
        Run(List<Traffic> sources, ClientGate[] gates, RunOptions options) {
            this.sources = sources;
            this.gates = gates;
            this.options = options;
            this.window = options.windowNs() == null ? Long.MAX_VALUE : options.windowNs();
            for (ResolvedCluster.Deployment d : cluster.deployments()) {
                DeploymentRun dr = new DeploymentRun(d, options, namesDeployments);
                dr.metrics.window(window);
                deployments.add(dr);
            }
            this.clients = new ClientGate[sources.size()];
            this.armedNs = new long[sources.size()];
            this.latencyNs = new long[sources.size()];
            for (int i = 0; i < sources.size(); i++) {
                latencyNs[i] = deployments.get(sources.get(i).deployment()).requestLatencyNs;
            }
            this.armedToken = new long[sources.size()];
            this.arrivals = new Event.RequestArrived[sources.size()];
            for (int i = 0; i < arrivals.length; i++) {
                arrivals[i] = new Event.RequestArrived(i);
            }
            this.open = new boolean[sources.size()];
        }

        /** Runs the loop to its end; returns the clock then. */
        long loop() throws IOException {
            // before the first ticks are scheduled: a tick only follows while traffic may still come
            openSources = sources.size();
            for (DeploymentRun d : deployments) {
                for (int i = 0; i < d.spec.replicas().initial(); i++) {
                    Replica r = place(d, 0);
                    if (r == null) {
                        throw new IllegalStateException(
                                "initial replicas of " + d.spec.name() + " do not fit (checked at resolve)");
                    }
                    started(d, r, 0);
                }
                // counted at once: the deployment never runs with fewer than its initial replicas at time 0
                d.metrics.initialReplicas(d.replicas.size());
                if (d.autoscaler.intervalNs() > 0) {
                    scheduleTick(d, 0);
                }
            }
            for (int i = 0; i < sources.size(); i++) {
                clients[i] = gates != null ? gates[i] : sources.get(i).gate();
                if (clients[i].active()) {
                    deployments.get(sources.get(i).deployment()).metrics.tallies.reportClient(true);
                }
                armedNs[i] = Long.MAX_VALUE;
                open[i] = true;
                arm(i);
            }
            while (!queue.isEmpty()) {
                boolean pastWindow = queue.peekTime() > window;
                if (pastWindow && !options.drain()) {
                    break;
                }
                // without a window a run ends with its last request, a drained one with its last request after the
                // window: what may be left then are timers (deadlines of answered requests, autoscaler ticks)
                if (openSources == 0 && (pastWindow || window == Long.MAX_VALUE) && allIdle()) {
                    break;
                }
                Event e = queue.poll();
                long now = queue.now();
                switch (e) {
                    case Event.RequestArrived a -> onRequestArrived(a, now);
                    case Event.ReplicaStarted s -> started(deployments.get(s.replica().deployment), s.replica(), now);
                    case Event.StepCompleted c -> onStepCompleted(c.replica(), now);
                    case Event.TtftDeadlinePassed t -> onTtftDeadlinePassed(deployments.get(t.deployment()), now);
                    case Event.ReplicaWoken w -> onReplicaWoken(w.replica(), now);
                    case Event.AutoscalerTicked t -> onAutoscalerTicked(deployments.get(t.deployment()), now);
                }
                if (stoppedNs >= 0) {
                    return stoppedNs;
                }
            }
            // a decode stretch may have completed steps after the last event taken
            return Math.max(queue.now(), clockNs);
        }

        /**
         * The first instant a run of quiet steps must not reach when the run stops on starvation: the next
         * checkpoint of any deployment (checked until the window ends, {@code now} being the clock).
         */
        private long starvationLimitNs(long now) {
            if (!options.stopWhenStarving() || now >= window) {
                return Long.MAX_VALUE;
            }
            long limit = Long.MAX_VALUE;
            for (DeploymentRun d : deployments) {
                limit = Math.min(limit, d.metrics.tallies.nextStarvationCheckNs(window));
            }
            return limit;
        }

        /** Whether every deployment's starvation is settled (see {@link RunOptions#stopWhenStarving()}). */
        private boolean starvationSettled(long now) {
            for (DeploymentRun d : deployments) {
                if (!d.metrics.tallies.starvationSettled(now, window)) {
                    return false;
                }
            }
            return true;
        }

        private boolean allIdle() {
            for (DeploymentRun d : deployments) {
                for (Replica r : d.replicas) {
                    if (r.stepping || !r.scheduler.isIdle()) {
                        return false;
                    }
                }
            }
            return true;
        }

        /**
         * Schedules the source's next send when it is due before the window and earlier than the one already
         * scheduled; counts the source closed once it will send nothing more.
         */
        private void arm(int source) {
            ClientGate client = clients[source];
            long t = client.nextSendNs();
            if (t < window && t < armedNs[source]) {
                armedNs[source] = t;
                armedToken[source] = queue.schedule(t + latencyNs[source], arrivals[source]);
            }
            // past the window no send can come before it, even one a client cap holds back: the source is done
            if (open[source]
                    && armedNs[source] == Long.MAX_VALUE
                    && (client.drained(window) || queue.now() >= window)) {
                open[source] = false;
                openSources--;
            }
        }

        private void onRequestEnded(Sequence s, long now) {
            clients[s.client()].ended(now);
            arm(s.client());
        }

        private void onRequestArrived(Event.RequestArrived e, long now) throws IOException {
            if (queue.polledSequence() != armedToken[e.source()]) {
                return;
            }
            // the client sent it a request latency ago: its TTFT and E2E count from then
            long sentNs = armedNs[e.source()];
            armedNs[e.source()] = Long.MAX_VALUE;
            Traffic source = sources.get(e.source());
            DeploymentRun d = deployments.get(source.deployment());
            ClientGate client = clients[e.source()];
            Request r = client.take();
            lastArrival = Math.max(lastArrival, sentNs);
            int adapter = d.adapters.indexOf(
                    r,
                    source.adapterRanks(),
                    source.defaultAdapterRank() != null ? source.defaultAdapterRank() : options.defaultAdapterRank());
            d.metrics.observe(now);
            d.metrics.tallies.arrived(r);
            long[] keys = d.prefixCaching ? PrefixKeys.of(r, d.blockSize, adapter) : NO_KEYS;
            Replica replica = d.router.route(r, adapter, keys, d.routable);
            // the replica learns of every adapter the deployment has met, the refused request's too
            replica.core.knowAdapters(d.adapters.size(), options.preloadAdapters());
            if (!replica.core.admissible(r.promptTokens(), r.outputTokens())) {
                d.metrics.tallies.rejected(r, sentNs, client.intendedNs());
                client.ended(now);
            } else {
                Sequence s = new Sequence(
                        r.id(),
                        d.order++,
                        sentNs,
                        adapter,
                        d.adapters.rank(adapter),
                        r.promptTokens(),
                        r.outputTokens(),
                        keys);
                s.intendedNs(client.intendedNs());
                s.client(e.source());
                d.metrics.tallies.track(s, r.adapterId());
                replica.scheduler.enqueue(s);
                if (d.estimatesPrefill) {
                    int work = r.promptTokens()
                            - (keys.length == 0 ? 0 : replica.cachedPrefixTokens(keys, r.promptTokens()));
                    s.estimatedPrefillTokens(work);
                    replica.pendingPrefillTokens += work;
                }
                replica.routed++;
                if (d.maxTtftNs != Long.MAX_VALUE) {
                    // the server knows only when the request arrived, so its TTFT deadline counts from then
                    s.deadlineNs(now + d.maxTtftNs);
                    d.deadlines.add(s, replica);
                    if (!d.deadlineScheduled) {
                        scheduleDeadline(d, now);
                    }
                }
                d.metrics.refresh(replica);
                arm(e.source());
                wakeNow(replica, now);
                return;
            }
            arm(e.source());
        }

        /**
         * {@link #wake}, after the arrival's source is armed again: when nothing else is due at this instant,
         * the wake-up event would be the next one taken, so the replica plans now instead of through the
         * queue (one event fewer per arrival, the same order).
         */
        private void wakeNow(Replica r, long now) {
            if (!r.stepping && now < r.wakeAtNs && r.state != Replica.State.STOPPED) {
                if (queue.isEmpty() || queue.peekTime() > now) {
                    r.wakeAtNs = Long.MAX_VALUE;
                    plan(r, now);
                } else {
                    wake(r, now);
                }
            }
        }

        /**
         * Has an idle replica plan now. One waiting for a background adapter load plans now too, rather than
         * at the load's end: what arrived may not need that adapter.
         */
        private void wake(Replica r, long now) {
            if (!r.stepping && now < r.wakeAtNs && r.state != Replica.State.STOPPED) {
                r.wakeAtNs = now;
                queue.schedule(now, r.woken);
            }
        }

        private void onReplicaWoken(Replica r, long now) {
            if (now != r.wakeAtNs) {
                // superseded by an earlier wake-up
                return;
            }
            r.wakeAtNs = Long.MAX_VALUE;
            if (!r.stepping && r.state != Replica.State.STOPPED) {
                plan(r, now);
            }
        }

        private void onStepCompleted(Replica r, long now) {
            DeploymentRun d = deployments.get(r.deployment);
            d.metrics.observe(now);
            r.scheduler.complete(now, r);
            r.stepping = false;
            if (options.stopWhenStarving() && now < window && starvationSettled(now)) {
                stoppedNs = now;
                return;
            }
            if (d.maxTtftNs != Long.MAX_VALUE) {
                // a request whose deadline passed during this step, in a chunk of a longer prefill, leaves now: its
                // deadline event skipped it while the step was under way
                List<Sequence> batch = r.scheduler.batch();
                for (int i = 0; i < batch.size(); i++) {
                    Sequence s = batch.get(i);
                    if (s.firstTokenNs() < 0 && !s.timedOut() && s.deadlineNs() <= now) {
                        r.scheduler.expire(s, now, r);
                    }
                }
            }
            plan(r, now);
        }

        /**
         * Plans the replica's next step, or waits for a background adapter load, or (draining, idle) stops it.
         * A step that may open a decode stretch ({@link io.twinserve.twin.sched.Scheduler#stretchable}) is
         * followed by quiet steps, completed and planned here at once, while each ends before the next event
         * of the queue (so nothing could have changed them) and no sequence finishes in it.
         */
        private void plan(Replica r, long now) {
            DeploymentRun d = deployments.get(r.deployment);
            replan:
            while (true) {
                d.metrics.observe(now);
                if (r.scheduler.plan(now) && r.scheduler.hasWork()) {
                    long priced = r.resolved.perf().stepNs(r.scheduler.shape());
                    long duration = Math.max(1, priced + r.scheduler.stallNs());
                    r.stepping = true;
                    r.steps++;
                    r.busyNs += duration;
                    long end = now + duration;
                    if (decodeStretches && r.scheduler.stretchable()) {
                        d.metrics.refresh(r);
                        if (!runStretch(d, r, now, end, priced)) {
                            now = r.quiet.lastEndNs;
                            continue replan;
                        }
                        if (stoppedNs >= 0) {
                            return;
                        }
                        end = r.quiet.endNs();
                    }
                    r.stepEndNs = end;
                    queue.schedule(end, r.stepCompleted);
                } else if (r.scheduler.nextAdapterReadyNs() != Long.MAX_VALUE) {
                    r.wakeAtNs = Math.max(now, r.scheduler.nextAdapterReadyNs());
                    queue.schedule(r.wakeAtNs, r.woken);
                } else if (r.state == Replica.State.DRAINING && r.scheduler.isIdle()) {
                    // stopped: its metrics are settled (a refresh now would count its adapters in slots again)
                    stop(d, r, now);
                    return;
                }
                d.metrics.refresh(r);
                return;
            }
        }

        /**
         * Runs the quiet steps of the decode stretch that {@code r}'s step planned at {@code now}, ending at
         * {@code end} (the model priced it at {@code priced} ns), opens: in bulk ({@link io.twinserve.twin.sched.Scheduler#runQuiet}) while each ends before
         * the queue's next event (so nothing could have changed them), the window's end (unless draining) and
         * the deployment's next timeline sample and (when the run stops on starvation) the next starvation
         * checkpoint, then one by one up to the next event. Returns false when the replica must plan afresh at
         * {@code r.quiet.lastEndNs}; otherwise its planned step ends at {@code r.quiet.endNs()}, to be
         * scheduled, unless the run stopped in the stretch (its starvation settled: {@code stoppedNs} set).
         */
        private boolean runStretch(DeploymentRun d, Replica r, long now, long end, long priced) {
            QuietSteps q = r.quiet;
            q.start(end, priced);
            long bound = queue.isEmpty() ? Long.MAX_VALUE : queue.peekTime();
            long windowLimit = options.drain() || window == Long.MAX_VALUE ? Long.MAX_VALUE : window + 1;
            while (end < bound && end < windowLimit && !r.scheduler.finishDue()) {
                q.limitNs = Math.min(
                        Math.min(bound, windowLimit), Math.min(d.metrics.quietLimitNs(), starvationLimitNs(now)));
                if (end < q.limitNs) {
                    r.scheduler.runQuiet(q, r);
                    if (q.completed > 0) {
                        now = q.lastEndNs;
                        clockNs = Math.max(clockNs, now);
                        d.metrics.observeQuiet(r, now, q.usedBlockNs);
                        r.steps += q.planned;
                        r.busyNs += q.plannedNs;
                    }
                    if (q.replan) {
                        r.stepping = false;
                        return false;
                    }
                    end = q.endNs();
                    d.metrics.refresh(r);
                    continue;
                }
                // one by one: what onStepCompleted and then plan would do at the step's end
                q.price(r.scheduler.shape());
                d.metrics.observe(end);
                r.scheduler.completeQuiet(end, r);
                r.stepping = false;
                now = end;
                clockNs = Math.max(clockNs, now);
                if (options.stopWhenStarving() && now < window && starvationSettled(now)) {
                    stoppedNs = now;
                    q.close();
                    return true;
                }
                if (!r.scheduler.planQuiet(now)) {
                    q.lastEndNs = now;
                    q.close();
                    return false;
                }
                long duration = q.next(now);
                r.stepping = true;
                r.steps++;
                r.busyNs += duration;
                end = now + duration;
                d.metrics.refresh(r);
            }
            q.close();
            return true;
        }

        private void scheduleDeadline(DeploymentRun d, long now) {
            if (!d.deadlines.isEmpty()) {
                d.deadlineScheduled = true;
                queue.schedule(
                        Math.max(now, d.deadlines.peek().deadlineNs()),
                        new Event.TtftDeadlinePassed(d.resolved.index()));
            }
        }

        /** Requests without a first token by their deadline leave with 408; answered ones leave the queue. */
        private void onTtftDeadlinePassed(DeploymentRun d, long now) {
            d.deadlineScheduled = false;
            d.metrics.observe(now);
            while (!d.deadlines.isEmpty()) {
                Sequence s = d.deadlines.peek();
                if (s.firstTokenNs() < 0 && !s.timedOut() && s.deadlineNs() > now) {
                    break;
                }
                Replica r = d.deadlines.peekReplica();
                d.deadlines.poll();
                // a request in the step under way is left to that step's end, which times it out
                if (r.scheduler.expire(s, now, r)) {
                    d.metrics.refresh(r);
                    wake(r, now);
                }
            }
            scheduleDeadline(d, now);
        }

        private void scheduleTick(DeploymentRun d, long now) {
            long next = now + d.autoscaler.intervalNs();
            // without a window, ticking stops once the traffic has ended and the deployment is idle
            boolean busy = openSources > 0;
            for (Replica r : d.replicas) {
                busy |= r.state == Replica.State.STARTING
                        || (r.state != Replica.State.STOPPED && !r.scheduler.isIdle());
            }
            // within a window, replicas above min left idle by the end of the traffic still drain
            boolean drainable = window != Long.MAX_VALUE
                    && d.routable.size() > d.spec.replicas().min();
            if (next < window && (busy || drainable)) {
                queue.schedule(next, new Event.AutoscalerTicked(d.resolved.index()));
            }
        }

        /** Carries out the deployment's autoscaler's decision (see {@link Autoscaler}). */
        private void onAutoscalerTicked(DeploymentRun d, long now) {
            d.metrics.observe(now);
            switch (d.autoscaler.decide(d, now)) {
                case ADD_REPLICA -> addReplica(d, now);
                case DRAIN_REPLICA -> drainOne(d, now);
                case HOLD -> {}
            }
            scheduleTick(d, now);
        }

        /** Starts one more replica on free GPUs, ready after its cold start; counts a refusal when none are free. */
        private void addReplica(DeploymentRun d, long now) {
            Replica r = allocate(d, now);
            if (r == null) {
                d.scaleUpsRefused++;
            } else {
                d.scaleUps++;
                long cold = d.autoscaler.coldStartNs(r.resolved.memory().weightBytes());
                d.coldStartNs += cold;
                queue.schedule(now + cold, new Event.ReplicaStarted(r));
            }
        }

        /** Stops routing to the ready replica with the fewest outstanding requests (the newest on ties). */
        private void drainOne(DeploymentRun d, long now) {
            Replica victim = null;
            for (Replica r : d.routable) {
                if (victim == null || r.outstanding() <= victim.outstanding()) {
                    victim = r;
                }
            }
            d.routable.remove(victim);
            victim.state = Replica.State.DRAINING;
            d.scaleDowns++;
            if (!victim.stepping && victim.wakeAtNs == Long.MAX_VALUE) {
                plan(victim, now);
            }
        }

        private Replica allocate(DeploymentRun d, long now) {
            Replica r = place(d, now);
            if (r != null) {
                d.metrics.observe(now);
                d.metrics.replicasChanged(1);
            }
            return r;
        }

        /** A starting replica on free GPUs, not yet counted in the metrics; null when none are free. */
        private Replica place(DeploymentRun d, long now) {
            Placement.Slot slot = placement.allocate(d.resolved.options());
            if (slot == null) {
                return null;
            }
            Replica r = new Replica(
                    nextReplicaId++,
                    d.replicas.size(),
                    d.resolved.index(),
                    slot,
                    now,
                    d.adapters,
                    lazyDecodes,
                    d.metrics.tallies,
                    ends);
            r.state = Replica.State.STARTING;
            d.replicas.add(r);
            return r;
        }

        private void started(DeploymentRun d, Replica r, long now) {
            r.state = Replica.State.READY;
            r.readyNs = now;
            int at = 0;
            while (at < d.routable.size() && d.routable.get(at).id < r.id) {
                at++;
            }
            d.routable.add(at, r);
        }

        private void stop(DeploymentRun d, Replica r, long now) {
            r.state = Replica.State.STOPPED;
            r.stoppedNs = now;
            placement.release(r.slot);
            d.metrics.observe(now);
            // its last figures (an idle batch, its KV blocks) first, then its adapters leave the count
            d.metrics.refresh(r);
            d.metrics.replicasChanged(-1);
            d.metrics.replicaStopped(r);
        }

        /** The measured window: the options', or the time stopped, or (without one) until the last request. */
        private long windowNs(long now) {
            return stoppedNs >= 0
                    ? stoppedNs
                    : options.windowNs() != null ? options.windowNs() : Math.max(now, Math.max(lastArrival, 1));
        }

        /** The run of a cluster of one replica as a single replica's run. */
        RunResult replicaResult(long now) throws IOException {
            return ClusterReport.replica(deployments.get(0), clients[0], now, windowNs(now), stoppedNs, bulkSteps);
        }

        ClusterResult finish(long now) throws IOException {
            return ClusterReport.cluster(
                    cluster, placement, deployments, sources, clients, now, windowNs(now), bulkSteps);
        }
    }
}

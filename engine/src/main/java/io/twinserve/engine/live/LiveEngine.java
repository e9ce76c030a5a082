package io.twinserve.engine.live;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.DeviceDraws;
import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.sample.Sampler;
import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.replica.ReplicaCore;
import io.twinserve.twin.sched.Scheduler;
import io.twinserve.twin.sched.SchedulerConfig;
import io.twinserve.twin.sched.Sequence;
import io.twinserve.twin.sched.StepListener;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The twin's scheduler, KV block manager and adapter cache on the wall clock, with a backend as the step
 * executor: requests are admitted, batched, preempted and finished by the very code the twin simulates;
 * adapters move from storage into host memory and into the backend's slots for real when the adapter
 * cache says so; tokens go to each request's sink as steps complete. One thread runs the loop. An
 * adapter that fails to load ends only the requests that need it.
 *
 * <p>Over 400 lines because it is the loop itself; one request's state is LiveRequest, the counters LiveStats.
 */
public final class LiveEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LiveEngine.class);
    private static final long IDLE_PARK_NS = 50_000_000L;

    /** Counters of what the loop did. */
    public record Stats(
            long steps,
            long promptTokensComputed,
            long generatedTokens,
            long preemptions,
            long adapterStorageLoads,
            long adapterSlotLoads,
            long adapterLoadNs,
            long busyNs,
            long finished,
            long timedOut,
            long failed) {}

    private final Backend backend;
    private final ModelConfig model;
    private final LiveConfig config;
    private final Detokenizer detokenizer;
    private final Set<Integer> stopTokens;
    private final AdapterCache adapters;
    private final Scheduler scheduler;
    private final AdapterRegistry registry;
    private final AdapterTiers tiers;
    private final SchedulerConfig schedulerConfig;
    private final StepObserver observer;
    private final LiveStats stats;
    private final ConcurrentLinkedQueue<LiveRequest> submitted = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<LiveRequest> cancels = new ConcurrentLinkedQueue<>();
    private final Map<Long, LiveRequest> live = new HashMap<>();
    private final List<LiveRequest> awaitingFirstToken = new ArrayList<>();
    private final ForwardBatch batch = new ForwardBatch();
    private final Listener listener = new Listener();
    private final long startNs = System.nanoTime();
    private final Thread thread;
    private float[] logits = new float[0];
    /** The rows of a step drawn on the backend's device, and the tokens drawn there (by logit row). */
    private final DeviceDraws draws = new DeviceDraws();

    private int[] drawn = new int[0];
    private int[] blocks = new int[16];
    private volatile boolean closing;
    /** Set when the loop has returned after a close: nothing submitted after it would ever be run. */
    private volatile boolean stopped;

    private volatile long parallelSamplingValues = Sampler.PARALLEL_FROM_VALUES;
    private volatile Throwable failure;
    /** Takes the requests of a failed loop that had streamed nothing yet; null: they end with an error. */
    private volatile Rescue rescue;
    /** Told once the loop has failed and every request in it was rescued or ended; null: nobody. */
    private volatile Runnable whenFailed;

    private long nextId;

    public LiveEngine(Backend backend, LiveConfig config, Detokenizer detokenizer, List<Integer> stopTokenIds) {
        this(backend, config, detokenizer, stopTokenIds, StepObserver.NONE);
    }

    /** @param observer sees every step's shape and wall time on the loop's thread */
    public LiveEngine(
            Backend backend,
            LiveConfig config,
            Detokenizer detokenizer,
            List<Integer> stopTokenIds,
            StepObserver observer) {
        this.backend = backend;
        this.observer = observer;
        this.model = backend.config();
        this.config = config;
        this.detokenizer = detokenizer;
        this.stopTokens = new HashSet<>(stopTokenIds);
        this.schedulerConfig = config.schedulerConfig(backend);
        // the twin's replica stack, every sequence visited every step (the backend needs each one's tokens)
        ReplicaCore core = new ReplicaCore(schedulerConfig, AdapterTiers.INSTANT, false);
        this.adapters = core.adapters();
        this.scheduler = core.scheduler();
        this.registry = new AdapterRegistry(backend.maxAdapterRank(), backend.adapterSlots());
        this.tiers = new AdapterTiers(backend, adapters, registry);
        this.stats = new LiveStats(scheduler, tiers);
        this.thread =
                Thread.ofPlatform().name("twinserve-live-loop").daemon(true).start(this::loop);
    }

    /**
     * Makes a PEFT adapter directory servable under {@code name}; its weights are read from storage only
     * when a request first needs it. Thread-safe with respect to the loop.
     */
    public void registerAdapter(String name, Path dir) {
        registerAdapter(
                name, LoraAdapter.readRank(dir), (adapterName, base) -> LoraAdapter.load(adapterName, dir, base));
    }

    /**
     * Makes an adapter of {@code rank} servable under {@code name}; {@code loader} brings it into host
     * memory when the adapter cache first needs it there (and again after eviction). A name unregistered
     * before may be registered again: it is then a new adapter to the caches.
     */
    public void registerAdapter(String name, int rank, AdapterLoader loader) {
        registry.register(name, rank, loader);
    }

    /**
     * Stops serving {@code name} (vLLM's {@code /v1/unload_lora_adapter}): later requests for it are
     * refused, requests already submitted finish, and its copies leave the GPU slots and the host tier as
     * the adapter cache evicts them.
     */
    public void unregisterAdapter(String name) {
        registry.unregister(name);
    }

    /** The names currently registered, in registration order. */
    public List<String> adapterNames() {
        return registry.names();
    }

    /** A submitted request, which its caller may cancel. */
    public interface Handle {
        /**
         * Ends the request where it is (waiting, running, or between steps) and frees its KV blocks and its
         * adapter reference; its sink hears {@link Completion.FinishReason#CANCELLED}. Nothing happens if it
         * has ended already. Thread-safe.
         */
        void cancel();
    }

    /**
     * Where the requests of a loop that failed go when none of their tokens had been streamed yet, or their sinks
     * can forget them ({@link TokenSink#rewind}): to another replica, which runs them from the start, so that their
     * callers see only a delay. Called once per such
     * request, on the failing loop's thread (or on the thread of a submission that raced with the failure).
     */
    @FunctionalInterface
    public interface Rescue {
        /**
         * Returns whether {@code request} was taken elsewhere; if not, or if this throws, it ends here with an
         * error.
         *
         * @param waitedNs how long it had been here since it was submitted (its first-token deadline and TTFT
         *     count from then)
         */
        boolean take(GenerationRequest request, TokenSink sink, long waitedNs);
    }

    /** Sets where the requests of this loop go if it fails before streaming any of their tokens (null: nowhere). */
    public void onFailure(Rescue rescue) {
        this.rescue = rescue;
    }

    /**
     * Sets what runs once this loop has failed, on the loop's thread, after every request in it was handed to the
     * {@link Rescue} or ended (a deployment restarts the replica from there). What it throws is logged.
     */
    public void whenFailed(Runnable action) {
        this.whenFailed = action;
    }

    /** Whether the loop has stopped after a failure: it serves nothing more and refuses submissions. */
    public boolean failed() {
        return failure != null;
    }

    /** Why the loop stopped ({@link #failed}), or null while it runs. */
    public String failureMessage() {
        return failure == null ? null : failureText();
    }

    /** Queues a request; its tokens and its end go to {@code sink} on the loop's thread. */
    public Handle submit(GenerationRequest request, TokenSink sink) {
        return submit(request, sink, 0);
    }

    /**
     * {@link #submit(GenerationRequest, TokenSink)} for a request that already waited {@code waitedNs} elsewhere
     * (a failed replica's, {@link Rescue}): its first-token deadline, TTFT and latency count from then.
     */
    public Handle submit(GenerationRequest request, TokenSink sink, long waitedNs) {
        if (closing) {
            throw new IllegalStateException("the live loop is shutting down");
        }
        return enqueue(request, sink, waitedNs);
    }

    /**
     * {@link #submit(GenerationRequest, TokenSink, long)} for a sequence of a request the deployment already
     * accepted (a later choice of OpenAI's {@code n}, queued once the first has its first token, or a request
     * rescued from a failed replica): taken after {@link #close} too, while the loop still finishes what it holds,
     * so that a request accepted before the close is answered whole. Refused once the loop has stopped.
     */
    public Handle submitAlongside(GenerationRequest request, TokenSink sink, long waitedNs) {
        return enqueue(request, sink, waitedNs);
    }

    private Handle enqueue(GenerationRequest request, TokenSink sink, long waitedNs) {
        if (waitedNs < 0) {
            throw new IllegalArgumentException("waitedNs must be >= 0, got " + waitedNs);
        }
        if (failure != null) {
            throw new IllegalStateException(failureText(), failure);
        }
        if (stopped) {
            throw new IllegalStateException("the live loop has shut down");
        }
        LiveRequest.requireServable(request, config.maxModelLen(), scheduler, backend, model.vocabSize());
        // the registration is fixed now: unregistering the name later does not touch this request
        int adapter = request.adapter() == null ? -1 : registry.indexOf(request.adapter());
        LiveRequest l = new LiveRequest(request, sink, detokenizer, now() - waitedNs, adapter);
        submitted.add(l);
        if (stopped && submitted.remove(l)) {
            // the loop returned after a close between the check above and the add, and will not drain the queue
            // again: the request was never taken, so it is refused (the caller may take it elsewhere)
            throw new IllegalStateException("the live loop has shut down");
        }
        if (failure != null) {
            // the loop failed between the check above and the add: it will not drain the queue again. The request
            // was accepted, so what its sink does with its end (or its rescue) is not the caller's error
            failSubmitted(Set.of());
        }
        LockSupport.unpark(thread);
        return () -> {
            cancels.add(l);
            LockSupport.unpark(thread);
        };
    }

    /** The counters as of the last step, or of the last request's end: a sink told of an end sees it counted. */
    public Stats stats() {
        return stats.stats();
    }

    /**
     * The limits the loop's scheduler runs with, as the twin's {@link SchedulerConfig}: compare it with a
     * simulated replica's to be sure both schedule alike.
     */
    public SchedulerConfig schedulerConfig() {
        return schedulerConfig;
    }

    private long now() {
        return System.nanoTime() - startNs;
    }

    private void loop() {
        while (true) {
            try {
                boolean idle = admitSubmitted();
                cancelRequested();
                expireDeadlines();
                long now = now();
                if (scheduler.plan(now) && scheduler.hasWork()) {
                    runStep();
                    continue;
                }
                if (closing && idle && scheduler.isIdle()) {
                    stopped = true;
                    // a submission that raced with the stop: it sees the flag and takes its request back, or the
                    // request is here and ends now
                    for (LiveRequest l; (l = submitted.poll()) != null; ) {
                        l.complete(Completion.FinishReason.ERROR, now(), "the live loop has shut down");
                    }
                    return;
                }
                long park = IDLE_PARK_NS;
                for (LiveRequest l : awaitingFirstToken) {
                    park = Math.min(park, Math.max(1, l.sequence.deadlineNs() - now));
                }
                if (stats.residencyDue()) {
                    stats.publish();
                }
                LockSupport.parkNanos(park);
            } catch (RuntimeException | Error e) {
                // the scheduler's state is not trustworthy after a failed step: end every request and stop, so
                // nothing waits forever and later submissions are refused with the cause
                LOG.error("the live loop failed; failing every request in it", e);
                failure = e;
                try {
                    failAll();
                } finally {
                    // even when ending a request threw: whoever restarts the replica must hear of the failure
                    Runnable then = whenFailed;
                    if (then != null) {
                        try {
                            then.run();
                        } catch (RuntimeException | Error after) {
                            LOG.error("the action after the live loop's failure failed", after);
                        }
                    }
                }
                return;
            }
        }
    }

    /** Returns true when nothing new was waiting. */
    private boolean admitSubmitted() {
        boolean none = true;
        for (LiveRequest l; (l = submitted.poll()) != null; ) {
            none = false;
            adapters.ensureAdapters(registry.size());
            long id = nextId++;
            l.admit(id, l.adapter < 0 ? 0 : registry.get(l.adapter).rank(), backend.blockSize());
            if (l.request.maxTtftMs() > 0) {
                awaitingFirstToken.add(l);
            }
            live.put(id, l);
            scheduler.enqueue(l.sequence);
        }
        return none;
    }

    private void expireDeadlines() {
        if (awaitingFirstToken.isEmpty()) {
            return;
        }
        long now = now();
        for (int i = awaitingFirstToken.size() - 1; i >= 0; i--) {
            LiveRequest l = awaitingFirstToken.get(i);
            if (l.sequence.firstTokenNs() >= 0 || l.sequence.finishNs() >= 0) {
                awaitingFirstToken.remove(i);
            } else if (now > l.sequence.deadlineNs() && scheduler.expire(l.sequence, now, listener)) {
                awaitingFirstToken.remove(i);
            }
        }
    }

    private void runStep() {
        long start = System.nanoTime();
        long loadsBefore = tiers.loadNs;
        tiers.load(this::failAdapter);
        List<Sequence> seqs = scheduler.batch();
        batch.clear();
        batch.stepShape(scheduler.shape());
        for (Sequence s : seqs) {
            blocks = live.get(s.requestId()).addTo(batch, adapters.slotOf(s.adapter()), blocks);
            if (!s.samplesThisStep() || s.generated() == 0) {
                stats.promptComputed += s.chunkTokens();
            }
        }
        int vocab = model.vocabSize();
        int rows = batch.sequences();
        if (logits.length < rows * vocab) {
            logits = new float[rows * vocab];
        }
        draws.clear(0);
        if (rows > 0) {
            // a batch whose every member needed an adapter that failed to load has nothing left to run
            if (backend.drawsOnDevice()) {
                // the rows that need only a temperature and min-p are drawn where the logits are
                int logitRows = batch.assignLogitRows();
                draws.clear(logitRows);
                if (drawn.length < logitRows) {
                    drawn = new int[Math.max(logitRows, 2 * drawn.length)];
                }
                for (int i = 0; i < seqs.size(); i++) {
                    int row = batch.logitRow(i);
                    if (row >= 0) {
                        live.get(seqs.get(i).requestId()).drawOnDevice(draws, row);
                    }
                }
                backend.forward(batch, draws, drawn, logits);
            } else {
                backend.forward(batch, logits);
            }
        }
        // each row is its own request's (its sampler, stop strings and text)
        float[] stepLogits = logits;
        Sampler.drawRows(seqs.size(), vocab, parallelSamplingValues, i -> sampleRow(seqs, i, stepLogits, vocab));
        long stepNs = System.nanoTime() - start;
        stats.busyNs += stepNs;
        stats.steps++;
        observer.onStep(scheduler.shape(), stepNs, tiers.loadNs - loadsBefore);
        scheduler.complete(now(), listener);
        stats.publish();
    }

    /** Samples the next token of the step's {@code i}-th sequence from its logit row, if it has one. */
    private void sampleRow(List<Sequence> seqs, int i, float[] stepLogits, int vocab) {
        int row = batch.logitRow(i);
        if (row >= 0) {
            LiveRequest l = live.get(seqs.get(i).requestId());
            if (draws.onDevice(row)) {
                l.drawn(drawn[row], stopTokens);
            } else {
                l.sample(stepLogits, row * vocab, vocab, stopTokens);
            }
        }
    }

    /**
     * Samples a step's rows on the common fork-join pool from {@code values} logits on (rows x vocabulary;
     * {@link Sampler#PARALLEL_FROM_VALUES} by default), one at a time below. A 128k-token row takes about 0.2 ms to draw at
     * a temperature on this machine's cores (JMH {@code SamplerBenchmark}), 13 ms for a batch of 64 one after the
     * other, longer than a GPU's whole step; for tests, 0 samples every step of two rows or more in parallel.
     */
    void sampleInParallelFrom(long values) {
        parallelSamplingValues = values;
    }

    /** Ends the requests whose callers cancelled them, between steps. */
    private void cancelRequested() {
        if (cancels.isEmpty()) {
            return;
        }
        long now = now();
        List<LiveRequest> notYetAdmitted = new ArrayList<>();
        for (LiveRequest l; (l = cancels.poll()) != null; ) {
            if (l.sequence == null) {
                // submitted after this turn's admissions: it is admitted, then cancelled, next turn
                notYetAdmitted.add(l);
                continue;
            }
            if (live.get(l.sequence.requestId()) == l) {
                abort(l, Completion.FinishReason.CANCELLED, now, null);
            }
        }
        cancels.addAll(notYetAdmitted);
    }

    /** Takes a request out of the scheduler (freeing its KV blocks and adapter reference) and ends it. */
    private void abort(LiveRequest l, Completion.FinishReason reason, long now, String error) {
        scheduler.abort(l.sequence, now);
        live.remove(l.sequence.requestId());
        awaitingFirstToken.remove(l);
        stats.publish();
        l.complete(reason, now, error);
    }

    /** Ends every running request of adapter {@code a} with an error, taking it out of the planned step. */
    private void failAdapter(int a, String message) {
        long now = now();
        for (Sequence s : scheduler.running()) {
            if (s.adapter() == a) {
                stats.failed++;
                abort(live.get(s.requestId()), Completion.FinishReason.ERROR, now, message);
            }
        }
    }

    /**
     * What the loop holds, refreshed at most every 100 ms: requests waiting and running, and the adapters in
     * the backend's slots and in host memory (by name).
     */
    public record Residency(int waiting, int running, List<String> inSlots, List<String> inHost) {}

    public Residency residency() {
        return stats.residency();
    }

    private void failAll() {
        // cancellations the loop had not taken yet: those requests end as cancelled, not rescued nor failed
        Set<LiveRequest> cancelled = Collections.newSetFromMap(new IdentityHashMap<>());
        for (LiveRequest l; (l = cancels.poll()) != null; ) {
            cancelled.add(l);
        }
        for (LiveRequest l : live.values()) {
            endQuietly(l, cancelled);
        }
        live.clear();
        awaitingFirstToken.clear();
        failSubmitted(cancelled);
    }

    private void failSubmitted(Set<LiveRequest> cancelled) {
        for (LiveRequest l; (l = submitted.poll()) != null; ) {
            endQuietly(l, cancelled);
        }
    }

    /**
     * {@link #end} (or, for a request its caller had cancelled, its end as cancelled), carrying on when a sink
     * throws: every other request must still hear of its end.
     */
    private void endQuietly(LiveRequest l, Set<LiveRequest> cancelled) {
        try {
            if (cancelled.contains(l)) {
                l.complete(Completion.FinishReason.CANCELLED, now(), null);
            } else {
                end(l);
            }
        } catch (RuntimeException | Error e) {
            LOG.error("ending a request of the failed live loop failed", e);
        }
    }

    /**
     * A request of the failed loop: handed to the {@link Rescue} when none of its tokens was streamed or its sink
     * can forget them ({@link TokenSink#rewind}; it then runs again from the start elsewhere), otherwise, or when the
     * rescue declines or fails, ended with the error.
     */
    private void end(LiveRequest l) {
        String message = failureText();
        Rescue r = rescue;
        if (r != null) {
            try {
                // one that streamed tokens moves only if its sink can forget them (nobody has seen them yet)
                if (l.streamed() && !l.sink().rewind()) {
                    l.complete(Completion.FinishReason.ERROR, now(), message);
                    return;
                }
                GenerationRequest again = l.request;
                if (l.streamed() && again.maxTtftMs() > 0) {
                    // it had its first token here, in time: its run elsewhere has no first-token deadline to meet
                    again = new GenerationRequest(again.adapter(), again.promptTokens(), again.sampling(), 0);
                }
                if (r.take(again, l.sink(), Math.max(0, now() - l.arrivalNs))) {
                    l.handedOver();
                    return;
                }
            } catch (RuntimeException e) {
                message += "; no other replica could take the request: " + e.getMessage();
            }
        }
        l.complete(Completion.FinishReason.ERROR, now(), message);
    }

    private String failureText() {
        return "the live loop has stopped after a failure: " + failure.getMessage();
    }

    /** Streams tokens and ends requests as the scheduler completes steps. */
    private final class Listener implements StepListener {
        @Override
        public void onFirstToken(Sequence s, long nowNs) {
            emit(s);
        }

        @Override
        public void onToken(Sequence s, long gapNs) {
            emit(s);
        }

        private void emit(Sequence s) {
            stats.generated++;
            live.get(s.requestId()).emitPending();
        }

        @Override
        public void onTimedOut(Sequence s, long nowNs) {
            LiveRequest l = live.remove(s.requestId());
            stats.timedOut++;
            stats.publish();
            l.complete(Completion.FinishReason.TIMEOUT, nowNs, null);
        }

        @Override
        public void onFinished(Sequence s, long nowNs) {
            LiveRequest l = live.remove(s.requestId());
            stats.finished++;
            // counters first, so that whoever hears of the end reads them up to date
            stats.publish();
            l.complete(l.endedBy() != null ? l.endedBy() : Completion.FinishReason.LENGTH, nowNs, null);
        }
    }

    /**
     * Stops taking requests, finishes those in flight, and stops the loop; returns once the loop has stopped, even
     * when the caller is interrupted (its interrupt is kept): whoever closes the backend next must not free its device
     * memory under a step the loop is still running.
     */
    @Override
    public void close() {
        closing = true;
        LockSupport.unpark(thread);
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}

package io.twinserve.twin.sched;

import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.kv.KvBlockManager;
import io.twinserve.twin.perf.StepShape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Continuous batching as vLLM's V1 scheduler does it, one step at a time.
 *
 * <p>Each step first serves the running sequences in admission order (a decode token each, or the next
 * prefill chunk) within the token budget; when a sequence needs a KV block and none is free, the newest
 * running sequence is preempted (its blocks freed, to be recomputed later) until the block fits. Then,
 * if nothing was preempted, waiting requests are admitted first come, first served within
 * {@code max_num_seqs} and the token budget, with the adapter rule: a request whose adapter is not in a
 * GPU slot waits while every slot holds an adapter in use, and later requests of resident adapters may
 * pass it. Admission stops at the first request whose KV blocks do not fit.
 *
 * <p>Speed without approximation: while every running sequence gets all it asks for (a "steady" step),
 * decoding sequences are counted in bulk by {@link SteadyDecodes} instead of visited one by one, and quiet
 * stretches of such steps run there at once; any other step first materialises them and runs the plain
 * algorithm, so the two paths choose the same batches (tests compare them). Lazy mode is used only with a
 * listener that takes tokens in bulk.
 *
 * <p>Why it is long: vLLM's policy is one state machine over one set of queues (plan, admit, preempt,
 * complete, expire, abort) plus the decode stretch's entry points that keep its step state; the bulk
 * accounting is in {@link SteadyDecodes}.
 */
public final class Scheduler {
    private final SchedulerConfig config;
    private final KvBlockManager kv;
    private final AdapterCache adapters;
    private final AdapterQueues waiting;
    private final SequenceList running = new SequenceList(SequenceList.RUNNING);
    // the running sequences that are not lazy, in running order (what a steady step visits)
    private final SequenceList eager = new SequenceList(SequenceList.EAGER);
    private final SteadyDecodes steady;
    private long nextRunningOrder;
    private final List<Sequence> batch = new ArrayList<>();
    private final StepShape shape = new StepShape();
    private final boolean lazyAllowed;
    private final List<Sequence> victims = new ArrayList<>();
    private long steadyPreemptionSteps;
    // adapters of the planned step's visited members (batchAdapterList[0, marked)), flagged in batchAdapters;
    // a steady step's lazy decoders' adapters are counted by SteadyDecodes, never flagged here
    private boolean[] batchAdapters;
    private int[] batchAdapterList;
    private int marked;
    private long syncLoadNs;
    private long preemptions;
    private long cachedTokens;
    private long queriedTokens;
    private long nextAdapterReadyNs = Long.MAX_VALUE;
    private long stepStartNs = -1;
    private long planned;
    private boolean stepOpen;
    private long timeouts;
    // bumped whenever the waiting queues or the adapter slots' use change: a "nobody can be admitted"
    // answer stays true until then
    private long changes;
    private long noCandidateAt = -1;

    // whether the planned step is steady (its lazy decoders counted in bulk)
    private boolean steadyPlanned;
    private final List<Sequence> finished = new ArrayList<>();

    public Scheduler(SchedulerConfig config, KvBlockManager kv, AdapterCache adapters, int adapterCount) {
        this(config, kv, adapters, adapterCount, true);
    }

    /** @param lazyAllowed whether steady steps may skip visiting decoding sequences (false: always eager) */
    public Scheduler(
            SchedulerConfig config, KvBlockManager kv, AdapterCache adapters, int adapterCount, boolean lazyAllowed) {
        this.config = config;
        this.kv = kv;
        this.adapters = adapters;
        this.lazyAllowed = lazyAllowed;
        this.waiting = new AdapterQueues(adapterCount);
        this.batchAdapters = new boolean[Math.max(1, adapterCount)];
        this.steady = new SteadyDecodes(config, kv, adapters, shape, running, eager, adapterCount);
        shape.loraSlots = config.maxAdapters();
        shape.loraSlotRank = config.maxAdapterRank();
        this.batchAdapterList = new int[Math.max(1, config.maxAdapters())];
    }

    /**
     * Whether a request of these lengths can ever be served here: the one admission rule of the simulator
     * and the live engine. It must fit {@code max_model_len}, and the whole KV cache must hold it by its last
     * computed token (prompt + output - 1) and hold its prompt with a block to spare for its first decode;
     * otherwise it would preempt itself once the cache is full and never finish.
     */
    public boolean admissible(int promptTokens, int outputTokens) {
        return admissible(promptTokens, outputTokens, config.maxModelLen(), config.blockSize(), kv.totalBlocks());
    }

    /** {@link #admissible(int, int)} for a replica of these limits, before one is built. */
    public static boolean admissible(
            int promptTokens, int outputTokens, int maxModelLen, int blockSize, long kvBlocks) {
        long total = (long) promptTokens + outputTokens;
        return total <= maxModelLen
                && ((long) promptTokens + blockSize - 1) / blockSize + 1 <= kvBlocks
                && (total - 1 + blockSize - 1) / blockSize <= kvBlocks;
    }

    /** A request arrives and waits. */
    public void enqueue(Sequence s) {
        if (s.adapter >= batchAdapters.length) {
            int n = Math.max(s.adapter + 1, batchAdapters.length * 2);
            batchAdapters = Arrays.copyOf(batchAdapters, n);
            steady.ensureAdapters(n);
        }
        waiting.addLast(s);
        changes++;
    }

    public long waitingCount() {
        return waiting.size();
    }

    public int runningCount() {
        return running.size();
    }

    public boolean isIdle() {
        return running.size() == 0 && waiting.isEmpty();
    }

    /**
     * Steps that preempted the tail and kept their lazy decoders counted in bulk (see
     * {@link SteadyDecodes#tailToPreempt}).
     */
    long steadyPreemptionSteps() {
        return steadyPreemptionSteps;
    }

    public long preemptions() {
        return preemptions;
    }

    public long cachedPromptTokens() {
        return cachedTokens;
    }

    public long queriedPromptTokens() {
        return queriedTokens;
    }

    /** The time an adapter being loaded in the background becomes ready (async loads), or Long.MAX_VALUE. */
    public long nextAdapterReadyNs() {
        return nextAdapterReadyNs;
    }

    public StepShape shape() {
        return shape;
    }

    /** The sequences of the planned step visited one by one (lazy decoders are counted in the shape only). */
    public List<Sequence> batch() {
        return batch;
    }

    /** Whether the planned step runs anything. */
    public boolean hasWork() {
        return shape.sequences > 0;
    }

    /** Adapter load time that stalls this step (sync loads), in ns. */
    public long stallNs() {
        return syncLoadNs;
    }

    /** The waiting-queue key the next preempted request takes (below every arrival's, decreasing). */
    private long frontOrder = -1;

    /**
     * Chooses the sequences of the step that starts at {@code nowNs}. Returns false when there is nothing
     * to run and nothing to wait for.
     */
    public boolean plan(long nowNs) {
        stepStartNs = nowNs;
        planned++;
        shape.clear();
        batch.clear();
        syncLoadNs = 0;
        nextAdapterReadyNs = Long.MAX_VALUE;
        // (the count is checked here so that a step without lazy decoders costs no call)
        steadyPlanned = steady.lazyCount() > 0 && steady.feasible(nowNs);
        boolean preempted = false;
        if (!steadyPlanned && steady.lazyCount() > 0 && steady.tailToPreempt(victims)) {
            // short of blocks only: preempt the tail the plain loop would, and keep the rest in bulk
            for (int i = 0; i < victims.size(); i++) {
                Sequence v = victims.get(i);
                steady.leaveForPreemption(v);
                preempt(v);
            }
            victims.clear();
            steadyPreemptionSteps++;
            preempted = true;
            steadyPlanned = steady.lazyCount() > 0;
        }
        if (!steadyPlanned) {
            steady.materialize();
        }
        int budget = config.maxNumBatchedTokens();
        marked = 0;
        if (steadyPlanned) {
            budget -= steady.openStep();
            // sequences before the last lazy one in running order get all they ask for (checked); the rest
            // share what is left in order, exactly as the plain loop would give it to them
            for (Sequence s = eager.head(); s != null && budget > 0; s = eager.next(s)) {
                int n = scheduleRunning(s, budget, nowNs);
                if (n > 0) {
                    budget -= n;
                    addToBatch(s, n, takeStart(s));
                }
            }
            steady.closeStep();
        } else {
            for (Sequence s = running.head(); s != null && budget > 0; s = running.next(s)) {
                if (!adapters.isReady(s.adapter, nowNs)) {
                    nextAdapterReadyNs = Math.min(nextAdapterReadyNs, adapters.readyNs(s.adapter));
                    continue;
                }
                int remaining = s.prefillTarget() - s.computed;
                if (!s.decoding && !config.chunkedPrefill() && remaining > budget) {
                    continue;
                }
                int n = s.decoding ? 1 : Math.min(remaining, budget);
                int need = blocksFor(s.computed + n) - s.blocks.size();
                boolean selfPreempted = false;
                while (need > kv.freeBlocks()) {
                    Sequence victim = running.tail();
                    preempt(victim);
                    preempted = true;
                    if (victim == s) {
                        selfPreempted = true;
                        break;
                    }
                }
                if (selfPreempted) {
                    break;
                }
                if (need > 0) {
                    kv.allocate(need, s.blocks);
                }
                budget -= n;
                addToBatch(s, n, takeStart(s));
            }
        }
        if (!preempted) {
            admit(budget, nowNs);
        }
        unmarkAdapters();
        countQueueAndSlots();
        stepOpen = shape.sequences > 0;
        return shape.sequences > 0 || nextAdapterReadyNs != Long.MAX_VALUE;
    }

    /** Schedules a non-lazy running sequence in a steady step (its wish fits by construction). */
    private int scheduleRunning(Sequence s, int budget, long nowNs) {
        if (!adapters.isReady(s.adapter, nowNs)) {
            nextAdapterReadyNs = Math.min(nextAdapterReadyNs, adapters.readyNs(s.adapter));
            return 0;
        }
        int remaining = s.prefillTarget() - s.computed;
        if (!s.decoding && !config.chunkedPrefill() && remaining > budget) {
            return 0;
        }
        int n = s.decoding ? 1 : Math.min(remaining, budget);
        int need = blocksFor(s.computed + n) - s.blocks.size();
        if (need > 0) {
            kv.allocate(need, s.blocks);
        }
        return n;
    }

    private static boolean takeStart(Sequence s) {
        boolean starts = s.awaitingFirstChunk;
        s.awaitingFirstChunk = false;
        return starts;
    }

    /** Admits waiting requests first come, first served. */
    private void admit(int budget, long nowNs) {
        while (budget > 0 && running.size() < config.maxNumSeqs()) {
            Sequence s = nextCandidate();
            if (s == null) {
                break;
            }
            int target = s.prefillTarget();
            int hitBlocks = kv.cachedPrefix(s.blockHashes, Math.min(s.hashedBlocks, (target - 1) / config.blockSize()));
            int cached = hitBlocks * config.blockSize();
            int remaining = target - cached;
            if (!config.chunkedPrefill() && remaining > budget) {
                break;
            }
            int n = Math.min(remaining, budget);
            int fresh = blocksFor(cached + n) - hitBlocks;
            if (fresh + kv.unreferencedAmong(s.blockHashes, hitBlocks) > kv.freeBlocks()) {
                break;
            }
            waiting.removeHead(s);
            changes++;
            long load = adapters.acquire(s.adapter, nowNs);
            s.holdsAdapter = s.adapter >= 0;
            kv.takeCached(s.blockHashes, hitBlocks, s.blocks);
            kv.allocate(fresh, s.blocks);
            s.computed = cached;
            s.registeredBlocks = hitBlocks;
            if (s.firstScheduledNs < 0) {
                // its cached prompt tokens as vLLM reports them (num_cached_tokens, set at its first scheduling): a
                // re-admission after a preemption finds its own blocks, which the hit rate counts but the request's
                // usage does not
                s.cachedTokens = cached;
            }
            cachedTokens += Math.min(cached, s.promptTokens);
            queriedTokens += s.promptTokens;
            if (s.firstScheduledNs < 0) {
                s.firstScheduledNs = nowNs;
            }
            s.runningOrder = nextRunningOrder++;
            running.addLast(s);
            eager.addLast(s);
            // with background loads, wait for the slot even when another request's load of it is under way
            if (config.asyncAdapterLoads() && !adapters.isReady(s.adapter, nowNs)) {
                nextAdapterReadyNs = Math.min(nextAdapterReadyNs, adapters.readyNs(s.adapter));
                s.awaitingFirstChunk = true;
                continue;
            }
            syncLoadNs += load;
            budget -= n;
            addToBatch(s, n, true);
        }
    }

    /**
     * Adds a sequence to the batch. A prefill chunk's blocks that it fills are registered in the prefix cache now, as
     * vLLM 0.8.5 caches full blocks when it allocates them: a request admitted later in the same step reuses them
     * (its attention reads them after this step's KV writes). Decoders' filled blocks are registered at the step's
     * end (a lazy decoder's at the next plan), as before.
     */
    private void addToBatch(Sequence s, int n, boolean starts) {
        s.chunk = n;
        s.chunkStarts = starts;
        s.batchStep = planned;
        batch.add(s);
        if (!s.decoding) {
            s.plannedRegisteredFrom = s.registeredBlocks;
            s.registerFull(kv, s.computed + n, config.blockSize());
        }
        addToShape(s, n, starts);
    }

    /** Adds a batch member to the step's shape, its adapter counted once (with the lazy ones' in a steady step). */
    private void addToShape(Sequence s, int n, boolean starts) {
        boolean samples = s.decoding || s.computed + n >= s.prefillTarget();
        shape.addSequence(n, s.computed, s.decoding, samples, starts, s.adapter >= 0);
        if (s.adapter >= 0 && !batchAdapters[s.adapter] && !(steadyPlanned && steady.countsAdapter(s.adapter))) {
            batchAdapters[s.adapter] = true;
            if (marked == batchAdapterList.length) {
                batchAdapterList = Arrays.copyOf(batchAdapterList, marked * 2);
            }
            batchAdapterList[marked++] = s.adapter;
            shape.distinctAdapters++;
            shape.adapterRankSum += s.rank;
        }
    }

    private void unmarkAdapters() {
        for (int i = 0; i < marked; i++) {
            batchAdapters[batchAdapterList[i]] = false;
        }
        marked = 0;
    }

    /**
     * The earliest waiting request that may run: any adapter's when a GPU slot can take a new adapter,
     * otherwise only the base model's and those of adapters already in a slot.
     */
    private Sequence nextCandidate() {
        if (waiting.isEmpty() || noCandidateAt == changes) {
            return null;
        }
        if (adapters.gpuSlots() == 0 || adapters.hasReplaceableSlot()) {
            Sequence s = waiting.peekEarliest();
            if (s.adapter >= 0 && adapters.gpuSlots() == 0) {
                throw new IllegalStateException("request " + s.requestId + " uses an adapter but max_adapters is 0");
            }
            return s;
        }
        Sequence best = waiting.peek(-1);
        for (int slot = 0; slot < adapters.gpuSlots(); slot++) {
            int a = adapters.adapterInSlot(slot);
            if (a >= 0) {
                Sequence head = waiting.peek(a);
                if (head != null && (best == null || head.order < best.order)) {
                    best = head;
                }
            }
        }
        if (best == null) {
            noCandidateAt = changes;
        }
        return best;
    }

    private void preempt(Sequence victim) {
        changes++;
        running.remove(victim);
        eager.remove(victim);
        kv.free(victim.blocks);
        if (victim.holdsAdapter) {
            adapters.release(victim.adapter);
            victim.holdsAdapter = false;
        }
        victim.computed = 0;
        victim.decoding = false;
        victim.registeredBlocks = 0;
        // admitted again later, it starts then: a flag left from waiting for its adapter would count its first
        // chunk as a new request twice
        victim.awaitingFirstChunk = false;
        victim.preemptions++;
        preemptions++;
        // the front of the whole waiting queue, as vLLM's appendleft: before any request, its own adapter's or
        // another's
        victim.order = frontOrder--;
        waiting.addFirst(victim);
    }

    /** Applies the planned step's tokens at {@code endNs}: samples, registers full blocks, finishes. */
    public void complete(long endNs, StepListener listener) {
        stepOpen = false;
        boolean bulk = listener.acceptsBulkTokens();
        long sameGapTokens = 0;
        finished.clear();
        for (int i = 0; i < batch.size(); i++) {
            Sequence s = batch.get(i);
            s.computed += s.chunk;
            if (!s.decoding) {
                if (s.computed < s.prefillTarget()) {
                    continue;
                }
                if (s.firstTokenNs < 0 && endNs > s.deadlineNs) {
                    // its first token comes too late: the client has given up (408)
                    s.timedOut = true;
                    finish(s, endNs);
                    continue;
                }
                s.decoding = true;
                s.generated++;
                if (s.firstTokenNs < 0) {
                    s.firstTokenNs = endNs;
                    listener.onFirstToken(s, endNs);
                } else {
                    listener.onToken(s, endNs - s.lastTokenNs);
                }
            } else {
                s.generated++;
                if (bulk && s.lastTokenNs == stepStartNs) {
                    sameGapTokens++;
                } else {
                    listener.onToken(s, endNs - s.lastTokenNs);
                }
            }
            s.lastTokenNs = endNs;
            if (s.generated >= s.outputTokens) {
                finish(s, endNs);
            }
        }
        if (steadyPlanned) {
            sameGapTokens += steady.lazyCount();
            List<Sequence> due = steady.completeStep(endNs);
            for (int i = 0; i < due.size(); i++) {
                finish(due.get(i), endNs);
            }
        }
        // decoders' filled blocks (prefill chunks registered theirs at planning, so before these: the order a lazy
        // decoder, registered at the next plan, also has; a turn's answer and the next turn's prompt may fill one key)
        for (int i = 0; i < batch.size(); i++) {
            Sequence s = batch.get(i);
            s.registerFull(kv, s.computed, config.blockSize());
        }
        if (sameGapTokens > 0) {
            listener.onTokens(endNs - stepStartNs, sameGapTokens);
        }
        if (!finished.isEmpty()) {
            changes++;
            // release in running order: the order blocks return to the free list decides later evictions
            if (finished.size() > 1) {
                finished.sort((a, b) -> Long.compare(a.runningOrder, b.runningOrder));
            }
            for (int i = 0; i < finished.size(); i++) {
                Sequence s = finished.get(i);
                kv.free(s.blocks);
                if (s.holdsAdapter) {
                    adapters.release(s.adapter);
                    s.holdsAdapter = false;
                }
                running.remove(s);
                eager.remove(s);
                if (s.timedOut) {
                    s.finishNs = -1;
                    timeouts++;
                    listener.onTimedOut(s, endNs);
                } else {
                    listener.onFinished(s, endNs);
                }
            }
        }
        if (lazyAllowed && bulk) {
            steady.joinDecoders(endNs);
        }
    }

    /**
     * Whether the planned step may open a decode stretch: it is steady, holds nothing but lazy decoders,
     * loads no adapter, and nothing waiting could be admitted by a later step of the stretch (the queue is
     * empty, or full sequences, a spent token budget or busy adapter slots hold it back, which only a
     * finish or an arrival changes). Until a lazy sequence finishes, a request arrives or a block does not
     * fit, the next steps then repeat this one with every decode one token longer: {@link #completeQuiet}
     * and {@link #planQuiet} run them without visiting anything.
     */
    public boolean stretchable() {
        if (!steadyPlanned
                || eager.head() != null
                || !batch.isEmpty()
                || syncLoadNs != 0
                || nextAdapterReadyNs != Long.MAX_VALUE) {
            return false;
        }
        return waiting.isEmpty()
                || running.size() >= config.maxNumSeqs()
                || config.maxNumBatchedTokens() <= steady.lazyCount()
                || noCandidateAt == changes;
    }

    /** Whether completing the planned step of a stretch finishes a lazy sequence (then use {@link #complete}). */
    public boolean finishDue() {
        return steady.finishDue();
    }

    /**
     * Completes the planned step of a decode stretch at {@code endNs}, as {@link #complete} would when
     * {@link #stretchable} held at planning and {@link #finishDue} is false: its tokens go to the listener
     * in bulk.
     */
    public void completeQuiet(long endNs, StepListener listener) {
        stepOpen = false;
        steady.completeQuietStep(endNs);
        listener.onTokens(endNs - stepStartNs, steady.lazyCount());
    }

    /**
     * Plans the next step of a decode stretch at {@code nowNs}, after {@link #completeQuiet}: the same step
     * with every decode one token longer and a block for each that crosses a block boundary, as {@link #plan}
     * would plan it. Returns false when those blocks do not fit; then call {@link #plan}, which takes it
     * from there.
     */
    public boolean planQuiet(long nowNs) {
        if (!steady.planQuietStep()) {
            return false;
        }
        stepStartNs = nowNs;
        planned++;
        stepOpen = true;
        return true;
    }

    /**
     * Runs the quiet steps of the open decode stretch {@code q} in bulk: completes the planned step and
     * plans the next, as {@link #completeQuiet} and {@link #planQuiet} would one by one, while the step
     * ends before {@code q.limitNs} and no lazy sequence finishes in it. The tokens go to {@code listener}
     * in one {@link StepListener#onTokens} call per run of gaps it records alike; what the loop's metrics
     * need comes back in {@code q} (see {@link QuietSteps}). The work per step is its price, a check of the
     * two step wheels' buckets and the block boundaries that fall in it.
     */
    public void runQuiet(QuietSteps q, StepListener listener) {
        steady.runQuiet(q, listener, stepStartNs);
        planned += q.planned;
        if (q.completed > 0) {
            stepStartNs = q.lastEndNs;
        }
        stepOpen = !q.replan;
    }

    private void finish(Sequence s, long endNs) {
        s.finishNs = endNs;
        finished.add(s);
    }

    /**
     * A request's TTFT deadline passed at {@code nowNs}: if it has no first token yet it leaves now, from
     * the waiting queue or the running list, freeing its blocks and adapter, and the listener hears of it.
     * A request in the batch of the step under way is left to {@link #complete}, which times it out when
     * its first token comes after the deadline. Returns whether it timed out now.
     */
    public boolean expire(Sequence s, long nowNs, StepListener listener) {
        if (s.firstTokenNs >= 0 || s.finishNs >= 0 || s.timedOut) {
            return false;
        }
        if (stepOpen && s.batchStep == planned) {
            return false;
        }
        changes++;
        if (running.contains(s)) {
            // a request without a first token is never a lazy decoder
            running.remove(s);
            eager.remove(s);
            kv.free(s.blocks);
            if (s.holdsAdapter) {
                adapters.release(s.adapter);
                s.holdsAdapter = false;
            }
        } else {
            waiting.remove(s);
        }
        s.timedOut = true;
        timeouts++;
        listener.onTimedOut(s, nowNs);
        return true;
    }

    /**
     * Ends a request that cannot go on (its adapter failed to load, say) wherever it is: waiting, running,
     * or in the batch of the step just planned, which then runs without it (batch and shape). Its KV blocks
     * and adapter reference are freed and no listener hears of it: the caller tells the request's owner.
     * Only for eager scheduling: a sequence counted in bulk, or a steady step, cannot lose a member. A prefill chunk
     * taken out of the planned step unregisters the blocks it registered at planning (they will never be computed);
     * a request admitted after it in the same step may have taken them, so a caller that aborts one request of a
     * step must abort every one that shares its prefix keys too (the live engine aborts all of a failed adapter's
     * requests, and prefix keys are seeded by the adapter).
     */
    public void abort(Sequence s, long nowNs) {
        if (s.finishNs >= 0 || s.timedOut) {
            return;
        }
        boolean inStep = stepOpen && s.batchStep == planned && running.contains(s);
        if (s.lazy || (inStep && steadyPlanned)) {
            throw new IllegalStateException("request " + s.requestId + " is in a steady step counted in bulk; build the"
                    + " scheduler with lazyAllowed false to abort requests");
        }
        changes++;
        if (running.contains(s)) {
            if (inStep && !s.decoding) {
                // the blocks its chunk was to fill were registered at planning and will never be computed
                for (int i = s.plannedRegisteredFrom; i < s.registeredBlocks; i++) {
                    kv.unregister(s.blocks.get(i));
                }
                s.registeredBlocks = Math.min(s.registeredBlocks, s.plannedRegisteredFrom);
            }
            running.remove(s);
            eager.remove(s);
            kv.free(s.blocks);
            if (s.holdsAdapter) {
                adapters.release(s.adapter);
                s.holdsAdapter = false;
            }
            if (inStep && batch.remove(s)) {
                rebuildShape();
                stepOpen = shape.sequences > 0;
            }
        } else {
            waiting.remove(s);
        }
        s.finishNs = nowNs;
    }

    /** Recounts the planned step's shape from its batch (an eager step: every member is in the batch). */
    private void rebuildShape() {
        shape.clear();
        marked = 0;
        for (Sequence s : batch) {
            addToShape(s, s.chunk, s.chunkStarts);
        }
        unmarkAdapters();
        countQueueAndSlots();
    }

    /**
     * The waiting queue as the step's scheduling pass sees it (its length, and whether slots block it), and
     * the adapters resident in slots once its admissions have loaded theirs.
     */
    private void countQueueAndSlots() {
        shape.waitingSequences = waiting.size();
        shape.slotsBlocked = shape.waitingSequences > 0 && adapters.gpuSlots() > 0 && !adapters.hasReplaceableSlot();
        shape.loadedAdapters = adapters.residentAdapters();
    }

    /** Requests that timed out before their first token. */
    public long timeouts() {
        return timeouts;
    }

    /** Whether a planned step is under way (planned and not yet completed). */
    public boolean stepOpen() {
        return stepOpen;
    }

    /** Brings every sequence's token counts up to date (before a plain step, and at the end of a run). */
    public void materialize() {
        steady.materialize();
    }

    private int blocksFor(int tokens) {
        return (tokens + config.blockSize() - 1) / config.blockSize();
    }

    /** Waiting requests that arrived at or before {@code ns} (counted once, at the end of a run). */
    public long countWaitingSince(long ns) {
        return waiting.countArrivedBy(ns);
    }

    /** Running sequences in admission order (a copy, for invariant checks). */
    public List<Sequence> running() {
        List<Sequence> out = new ArrayList<>(running.size());
        for (Sequence s = running.head(); s != null; s = running.next(s)) {
            out.add(s);
        }
        return Collections.unmodifiableList(out);
    }

    public KvBlockManager kv() {
        return kv;
    }

    public AdapterCache adapters() {
        return adapters;
    }
}

package io.twinserve.twin.sched;

import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.kv.KvBlockManager;
import io.twinserve.twin.perf.StepShape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The twin's bulk accounting of decoding sequences, which makes a {@link Scheduler} fast without changing
 * what it chooses.
 *
 * <p>A decoding sequence that runs every step gains exactly one token per step, so while the budget covers
 * every running sequence and the free blocks cover this step's needs (a "steady" step), decoding sequences
 * are not visited one by one. They are "lazy": their token counts are a base plus the number of steady
 * steps since they joined, their next block boundary and their finish are entries of two {@link StepWheel}s
 * keyed by step, and the step's shape adds them as one aggregate. The scheduler visits only the eager
 * running sequences (the {@link SequenceList#EAGER} list) in a steady step; any other step first
 * {@link #materialize}s every lazy sequence and then runs the plain algorithm, so the two paths choose the
 * same batches (tests compare them).
 *
 * <p>Without prefix caching (and with a counting KV cache) a full block needs no registering and blocks are
 * interchangeable, so lazy decoders' block boundaries are counted by step phase instead of kept per
 * sequence in the boundary wheel: every lazy decoder crosses one each blockSize steps, at its phase.
 *
 * <p>Quiet steps (a decode stretch: nothing but lazy decoders, nothing to admit) run here in bulk,
 * {@link #runQuiet}, with only the wheels' buckets and the block boundaries checked per step.
 *
 * <p>Why it is long: the lazy counts, the two wheels and the counted boundaries keep one invariant (each
 * lazy decoder's tokens and blocks), updated together on joining, leaving, each steady and each quiet step.
 */
final class SteadyDecodes {
    private final KvBlockManager kv;
    private final AdapterCache adapters;
    private final StepShape shape;
    private final SequenceList running;
    private final SequenceList eager;
    private final int blockSize;
    private final int maxNumBatchedTokens;
    private final boolean chunkedPrefill;

    /** Steady steps completed so far: the clock of the lazy decoders' counts and of the wheels. */
    private long steadySteps;

    private long lastSteadyEndNs = -1;
    /** The largest running order of a lazy decoder (-1: none since the last materialize). */
    private long maxLazyOrder = -1;

    private int lazyCount;
    private long lazyComputedSum;
    private int lazyAdapterSeqs;
    private int[] lazyAdapterRefs;
    private int lazyDistinctAdapters;
    private long lazyRankSum;
    private final StepWheel finishes = new StepWheel(1024, s -> s.lazyFinishStep);
    private final StepWheel boundaries;
    // counted boundaries (see the class comment): phaseCount[p]: lazy decoders of phase p;
    // phaseAllocations[p]: steps of phase p whose boundary blocks were allocated (a decoder is owed those
    // since it joined, given to its table when it leaves lazy)
    private final boolean countedBoundaries;
    private final int[] phaseCount;
    private final long[] phaseAllocations;
    private long boundaryAllocatedStep = -1;
    // blockSize - 1 when it is a power of two (a mask instead of a division on every quiet step), else -1
    private final int phaseMask;
    private final List<Sequence> boundaryScratch = new ArrayList<>();
    // feasible's calls, and the blocks its last call found short of the step's needs (counted boundaries; 0 when
    // they fitted or it failed for another reason)
    private long feasibleCalls;
    private long blocksShort;
    private final List<Sequence> dueScratch = new ArrayList<>();

    SteadyDecodes(
            SchedulerConfig config,
            KvBlockManager kv,
            AdapterCache adapters,
            StepShape shape,
            SequenceList running,
            SequenceList eager,
            int adapterCount) {
        this.kv = kv;
        this.adapters = adapters;
        this.shape = shape;
        this.running = running;
        this.eager = eager;
        this.blockSize = config.blockSize();
        this.maxNumBatchedTokens = config.maxNumBatchedTokens();
        this.chunkedPrefill = config.chunkedPrefill();
        this.boundaries = new StepWheel(config.blockSize() + 1, s -> s.lazyBoundaryStep);
        this.countedBoundaries = kv.isCounting() && !config.prefixCaching();
        this.phaseCount = new int[countedBoundaries ? config.blockSize() : 0];
        this.phaseAllocations = new long[countedBoundaries ? config.blockSize() : 0];
        this.phaseMask = Integer.bitCount(config.blockSize()) == 1 ? config.blockSize() - 1 : -1;
        this.lazyAdapterRefs = new int[Math.max(1, adapterCount)];
    }

    /** Makes room for adapter indices below {@code n}. */
    void ensureAdapters(int n) {
        if (n > lazyAdapterRefs.length) {
            lazyAdapterRefs = Arrays.copyOf(lazyAdapterRefs, n);
        }
    }

    /** Lazy decoders now. */
    int lazyCount() {
        return lazyCount;
    }

    /** Whether a lazy decoder uses {@code adapter} (then a steady step's shape counts it already). */
    boolean countsAdapter(int adapter) {
        return lazyAdapterRefs[adapter] > 0;
    }

    /**
     * Whether the step planned at {@code nowNs} can run with its lazy decoders (there are some): every
     * running sequence gets all it asks for within the budget, and the free blocks cover every block it
     * needs. Collects the lazy decoders that cross a block boundary this step into {@code boundaryScratch}.
     */
    boolean feasible(long nowNs) {
        feasibleCalls++;
        blocksShort = 0;
        long budget = maxNumBatchedTokens - (long) lazyCount;
        if (budget < 0) {
            return false;
        }
        long blocks = 0;
        for (Sequence s = eager.head(); s != null && budget > 0; s = eager.next(s)) {
            if (!adapters.isReady(s.adapter, nowNs)) {
                continue;
            }
            int remaining = s.prefillTarget() - s.computed;
            int n;
            if (s.runningOrder < maxLazyOrder) {
                // ahead of some lazy decoder: the plain loop serves it before them, in full
                n = s.decoding ? 1 : remaining;
                if (n > budget) {
                    return false;
                }
            } else {
                if (!s.decoding && !chunkedPrefill && remaining > budget) {
                    continue;
                }
                n = s.decoding ? 1 : (int) Math.min(remaining, budget);
            }
            budget -= n;
            // a request admitted while its adapter loaded in the background may hold more blocks than this chunk
            // needs (its first chunk got a larger budget): it needs none, and frees none for the others
            int need = Math.max(0, blocksFor(s.computed + n) - s.blocks.size());
            blocks += need;
            s.steadyNeed = need;
            s.steadyNeedCall = feasibleCalls;
        }
        if (countedBoundaries) {
            blocks += dueBoundaryBlocks();
            blocksShort = blocks - kv.freeBlocks();
            return blocksShort <= 0;
        }
        // (a sequence that finished while lazy leaves a stale entry there: takeDue drops it)
        boundaries.takeDue(steadySteps, boundaryScratch);
        blocks += boundaryScratch.size();
        if (blocks > kv.freeBlocks()) {
            // the step runs plain; materialize() is about to clear the wheels
            boundaryScratch.clear();
            return false;
        }
        return true;
    }

    /**
     * Opens a steady step found {@link #feasible}, before the eager sequences are scheduled: the counted
     * boundaries' blocks are allocated, or the lazy decoders at a block boundary, which filled a block last
     * step, have it cached now (as a visited one's was then). Returns the token budget the lazy decoders
     * take, having put their adapters in the shape.
     */
    int openStep() {
        if (countedBoundaries) {
            allocateCountedBoundaries();
        } else {
            for (int i = 0; i < boundaryScratch.size(); i++) {
                Sequence s = boundaryScratch.get(i);
                s.registerFull(kv, s.lazyComputed0 + (steadySteps - s.lazyBaseStep), blockSize);
            }
        }
        shape.distinctAdapters = lazyDistinctAdapters;
        shape.adapterRankSum = lazyRankSum;
        return lazyCount;
    }

    /**
     * Closes the planning of a steady step, after the eager sequences: a block for each lazy decoder at a
     * block boundary, and the lazy decoders added to the shape as one aggregate.
     */
    void closeStep() {
        for (int i = 0; i < boundaryScratch.size(); i++) {
            Sequence s = boundaryScratch.get(i);
            kv.allocate(1, s.blocks);
            s.lazyBoundaryStep += blockSize;
            boundaries.add(s, steadySteps);
        }
        boundaryScratch.clear();
        shape.sequences += lazyCount;
        shape.newTokens += lazyCount;
        shape.decodeSequences += lazyCount;
        shape.decodeContextTokens += lazyComputedSum + lazyCount;
        shape.kvReadTokens += lazyComputedSum + lazyCount;
        shape.sampledTokens += lazyCount;
        shape.adapterTokens += lazyAdapterSeqs;
    }

    /**
     * Completes a steady step at {@code endNs}: every lazy decoder gains a token. Returns those whose last
     * token it was, out of lazy bookkeeping now (the caller finishes them; the list is reused).
     */
    List<Sequence> completeStep(long endNs) {
        steadySteps++;
        lastSteadyEndNs = endNs;
        lazyComputedSum += lazyCount;
        dueScratch.clear();
        finishes.takeDue(steadySteps, dueScratch);
        for (int i = 0; i < dueScratch.size(); i++) {
            leaveLazy(dueScratch.get(i), endNs);
        }
        return dueScratch;
    }

    /** Eager decoders that sampled their token at {@code endNs} become lazy: counted in bulk from now. */
    void joinDecoders(long endNs) {
        Sequence next;
        for (Sequence s = eager.head(); s != null; s = next) {
            next = eager.next(s);
            if (s.decoding && s.lastTokenNs == endNs) {
                joinLazy(s);
            }
        }
    }

    /**
     * When the last {@link #feasible} failed for want of blocks alone (counted boundaries), puts into {@code out},
     * last first, the running sequences the plain loop would preempt for them, and returns true. That loop walks
     * running order, allocates each sequence's blocks and, whenever they do not fit, preempts the last running
     * sequence (the one it is visiting too, if it comes to that); so it preempts the shortest tail of running order
     * whose blocks and this step's needs cover the shortfall. A sequence's need does not depend on that tail (its
     * tokens depend only on the budget the sequences before it took), so the needs are those feasible counted. The
     * caller preempts them in that order, each lazy one first taken out of bulk accounting
     * ({@link #leaveForPreemption}), and the other lazy decoders stay counted in bulk: with the cache full this
     * happens every few steps, and materializing and rejoining every lazy decoder each time was a fifth of a
     * saturated run.
     */
    boolean tailToPreempt(List<Sequence> out) {
        out.clear();
        if (blocksShort <= 0) {
            return false;
        }
        int crossing = boundaryAllocatedStep == steadySteps ? -1 : phase(steadySteps);
        long covered = 0;
        for (Sequence t = running.tail(); t != null; t = running.prev(t)) {
            out.add(t);
            if (t.lazy) {
                covered += t.blocks.size() + (phaseAllocations[t.lazyPhase] - t.lazyCrossBase);
                covered += t.lazyPhase == crossing ? 1 : 0;
            } else {
                covered += t.blocks.size() + (t.steadyNeedCall == feasibleCalls ? t.steadyNeed : 0);
            }
            if (covered >= blocksShort) {
                return true;
            }
        }
        // (the whole list always covers it: every need is among the needs the shortfall counts)
        out.clear();
        return false;
    }

    /**
     * Takes a lazy sequence about to be preempted out of bulk accounting, as {@link #materialize} would: its
     * counts and owed blocks brought up to date, its finish taken off the wheel. Eager ones need nothing.
     */
    void leaveForPreemption(Sequence s) {
        if (!s.lazy) {
            return;
        }
        if (!finishes.remove(s)) {
            throw new IllegalStateException("lazy request " + s.requestId + " has no finish on the wheel");
        }
        leaveLazy(s, lastSteadyEndNs);
    }

    /** Whether completing the next steady step finishes a lazy sequence. */
    boolean finishDue() {
        return finishes.hasDue(steadySteps + 1);
    }

    /** Completes a quiet step at {@code endNs} (see {@link Scheduler#completeQuiet}). */
    void completeQuietStep(long endNs) {
        steadySteps++;
        lastSteadyEndNs = endNs;
        lazyComputedSum += lazyCount;
    }

    /**
     * Plans the next quiet step's blocks (see {@link Scheduler#planQuiet}) and its shape: every decode one
     * token longer. Returns false, the shape untouched, when the blocks do not fit.
     */
    boolean planQuietStep() {
        if (!quietBoundaries()) {
            return false;
        }
        shape.decodeContextTokens = lazyComputedSum + lazyCount;
        shape.kvReadTokens = lazyComputedSum + lazyCount;
        return true;
    }

    /**
     * Allocates a block to each lazy decoder that crosses a block boundary in the step after {@code
     * steadySteps}, as a plan would. Returns false, leaving them in boundaryScratch for the plan to count
     * with the rest, when they do not fit.
     */
    private boolean quietBoundaries() {
        if (countedBoundaries) {
            if (dueBoundaryBlocks() > kv.freeBlocks()) {
                return false;
            }
            allocateCountedBoundaries();
            return true;
        }
        boundaries.takeDue(steadySteps, boundaryScratch);
        if (boundaryScratch.size() > kv.freeBlocks()) {
            return false;
        }
        // their last blocks filled in the step just completed: cached now, as a plan caches them
        for (int i = 0; i < boundaryScratch.size(); i++) {
            Sequence s = boundaryScratch.get(i);
            s.registerFull(kv, s.lazyComputed0 + (steadySteps - s.lazyBaseStep), blockSize);
        }
        for (int i = 0; i < boundaryScratch.size(); i++) {
            Sequence s = boundaryScratch.get(i);
            kv.allocate(1, s.blocks);
            s.lazyBoundaryStep += blockSize;
            boundaries.add(s, steadySteps);
        }
        boundaryScratch.clear();
        return true;
    }

    /** The block-boundary phase of a steady step (counted boundaries). */
    private int phase(long step) {
        return phaseMask >= 0 ? (int) (step & phaseMask) : (int) (step % phaseCount.length);
    }

    /** Blocks the lazy decoders crossing a block boundary at the current step need (counted boundaries). */
    private int dueBoundaryBlocks() {
        return boundaryAllocatedStep == steadySteps ? 0 : phaseCount[phase(steadySteps)];
    }

    /** Allocates the blocks of {@link #dueBoundaryBlocks} (they fit: checked by the caller). */
    private void allocateCountedBoundaries() {
        int due = dueBoundaryBlocks();
        if (due > 0) {
            int phase = phase(steadySteps);
            kv.reserve(due);
            phaseAllocations[phase]++;
        }
        boundaryAllocatedStep = steadySteps;
    }

    /**
     * Runs the quiet steps of the open decode stretch {@code q} in bulk, the first starting at {@code
     * startNs} (see {@link Scheduler#runQuiet}); what the scheduler and the loop need comes back in {@code q}.
     */
    void runQuiet(QuietSteps q, StepListener listener, long startNs) {
        q.price(shape);
        long start = startNs;
        long end = q.endNs;
        long limit = q.limitNs;
        long index = q.index;
        long lazy = lazyCount;
        long used = kv.usedBlocks();
        long usedNs = 0;
        long completed = 0;
        long plannedNs = 0;
        boolean replan = false;
        // the run of gaps the listener records alike: [runGap, runEnd), runCount tokens
        long runGap = 0;
        long runEnd = 0;
        long runCount = 0;
        while (end < limit && !finishes.hasDue(steadySteps + 1)) {
            long gap = end - start;
            usedNs += used * gap;
            steadySteps++;
            lazyComputedSum += lazy;
            completed++;
            if (gap >= runEnd || gap < runGap) {
                if (runCount > 0) {
                    listener.onTokens(runGap, runCount);
                }
                runGap = gap;
                runEnd = listener.tokenGapBucketEndNs(gap);
                runCount = 0;
            }
            runCount += lazy;
            start = end;
            if (countedBoundaries ? phaseCount[phase(steadySteps)] != 0 : !boundaries.nothingAt(steadySteps)) {
                if (!quietBoundaries()) {
                    replan = true;
                    break;
                }
                used = kv.usedBlocks();
            }
            long duration = Math.max(1, q.prices.stepNs(++index));
            plannedNs += duration;
            end = start + duration;
        }
        if (runCount > 0) {
            listener.onTokens(runGap, runCount);
        }
        if (completed > 0) {
            lastSteadyEndNs = start;
            shape.decodeContextTokens = lazyComputedSum + lazyCount;
            shape.kvReadTokens = lazyComputedSum + lazyCount;
        }
        q.index = index;
        q.endNs = end;
        q.completed = completed;
        q.planned = replan ? completed - 1 : completed;
        q.lastEndNs = start;
        q.plannedNs = plannedNs;
        q.usedBlockNs = usedNs;
        q.replan = replan;
        q.totalCompleted += completed;
        if (replan) {
            q.close();
        }
    }

    /** A decoding sequence stops being visited: from the next steady step its tokens are counted in bulk. */
    private void joinLazy(Sequence s) {
        eager.remove(s);
        maxLazyOrder = Math.max(maxLazyOrder, s.runningOrder);
        s.lazy = true;
        s.lazyBaseStep = steadySteps;
        s.lazyComputed0 = s.computed;
        s.lazyGenerated0 = s.generated;
        s.lazyFinishStep = steadySteps + (s.outputTokens - s.generated);
        int toBoundary = Math.floorMod(-s.computed, blockSize);
        s.lazyBoundaryStep = steadySteps + toBoundary;
        finishes.add(s, steadySteps);
        if (countedBoundaries) {
            int phase = phase(s.lazyBoundaryStep);
            s.lazyPhase = phase;
            s.lazyCrossBase = phaseAllocations[phase];
            phaseCount[phase]++;
        } else {
            boundaries.add(s, steadySteps);
        }
        lazyCount++;
        lazyComputedSum += s.computed;
        if (s.adapter >= 0) {
            lazyAdapterSeqs++;
            if (lazyAdapterRefs[s.adapter]++ == 0) {
                lazyDistinctAdapters++;
                lazyRankSum += s.rank;
            }
        }
    }

    /**
     * Brings a lazy sequence's counts up to date and takes it out of lazy bookkeeping (not the wheels);
     * {@code lastTokenNs} is the end of the last steady step, when it sampled its last token.
     */
    private void leaveLazy(Sequence s, long lastTokenNs) {
        long steps = steadySteps - s.lazyBaseStep;
        s.computed = (int) (s.lazyComputed0 + steps);
        s.generated = (int) (s.lazyGenerated0 + steps);
        if (countedBoundaries) {
            phaseCount[s.lazyPhase]--;
            kv.assign((int) (phaseAllocations[s.lazyPhase] - s.lazyCrossBase), s.blocks);
        }
        s.registerFull(kv, s.computed, blockSize);
        if (steps > 0) {
            s.lastTokenNs = lastTokenNs;
        }
        s.lazy = false;
        lazyCount--;
        lazyComputedSum -= s.computed;
        if (s.adapter >= 0) {
            lazyAdapterSeqs--;
            if (--lazyAdapterRefs[s.adapter] == 0) {
                lazyDistinctAdapters--;
                lazyRankSum -= s.rank;
            }
        }
    }

    /**
     * Brings every lazy sequence's token counts up to date and makes every running sequence eager again
     * (before a plain step, and at the end of a run).
     */
    void materialize() {
        if (lazyCount == 0) {
            return;
        }
        for (Sequence s = running.head(); s != null; s = running.next(s)) {
            if (s.lazy) {
                leaveLazy(s, lastSteadyEndNs);
            }
        }
        finishes.clear();
        boundaries.clear();
        maxLazyOrder = -1;
        eager.clear();
        for (Sequence s = running.head(); s != null; s = running.next(s)) {
            eager.addLast(s);
        }
    }

    private int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }
}

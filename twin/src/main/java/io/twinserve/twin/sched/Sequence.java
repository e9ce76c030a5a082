package io.twinserve.twin.sched;

import io.twinserve.twin.kv.KvBlockManager;

/**
 * One request as the scheduler tracks it. Mutable, owned by the scheduler; its timestamps become the
 * request's record when it leaves.
 *
 * <p>Token accounting follows vLLM: {@code computed} tokens have their K/V in the cache; a request
 * prefills {@code promptTokens + generated} tokens (the generated ones again after a preemption), then
 * each decode step computes the last sampled token and samples the next.
 */
public final class Sequence {
    final long requestId;
    /**
     * The waiting queue's key: the arrival order, or, once preempted, below every other (vLLM puts a preempted
     * request back at the very front of its waiting queue, ahead of earlier arrivals its adapter had passed).
     */
    long order;

    final long arrivalNs;
    /** When the client meant to send it (arrivalNs is when it did, what the server sees). */
    long intendedNs;
    /** Which client sent it: its run owner's index (a cluster's traffic source). */
    int client;

    final int adapter;
    final int rank;
    final int promptTokens;
    int outputTokens;
    // grown by appendBlockHash (the live engine's answer blocks as they fill)
    long[] blockHashes;
    int hashedBlocks;
    final KvBlockManager.BlockTable blocks;

    int computed;
    int generated;
    boolean decoding;
    int registeredBlocks;
    /** {@link #registeredBlocks} before its chunk of the planned step registered the blocks it fills. */
    int plannedRegisteredFrom;

    int chunk;
    /** Whether the planned step's chunk is its first since admission (the shape's new requests). */
    boolean chunkStarts;
    /** Admitted while its adapter loads in the background: its first chunk has not run yet. */
    boolean awaitingFirstChunk;
    // its adapter's waiting queue (see AdapterQueues)
    Sequence prevWaiting;
    Sequence nextWaiting;
    boolean inWaiting;
    // links of the scheduler's running and eager lists (see SequenceList), and a bit per list that holds it
    Sequence prevRunning;
    Sequence nextRunning;
    Sequence prevEager;
    Sequence nextEager;
    int lists;
    long runningOrder;
    // lazy-decoding bookkeeping (see SteadyDecodes)
    boolean lazy;
    long lazyBaseStep;
    long lazyComputed0;
    long lazyGenerated0;
    long lazyFinishStep;
    long lazyBoundaryStep;
    // counted boundaries (SteadyDecodes without prefix caching): the step phase of its block boundaries and the
    // phase's allocation count when it joined
    int lazyPhase;
    long lazyCrossBase;
    // the blocks this eager sequence needs in the step SteadyDecodes#feasible checked, and which of its calls that was
    int steadyNeed;
    long steadyNeedCall = -1;
    boolean holdsAdapter;
    long firstScheduledNs = -1;
    long firstTokenNs = -1;
    long lastTokenNs = -1;
    long finishNs = -1;
    int preemptions;
    long cachedTokens;
    /** The latest time its first token may come (arrival + max_ttft_ms), or Long.MAX_VALUE. */
    long deadlineNs = Long.MAX_VALUE;

    boolean timedOut;
    int estimatedPrefillTokens;
    /** The scheduler step that last put it in a batch. */
    long batchStep = -1;

    /**
     * @param order FCFS position (arrival order)
     * @param blockHashes prefix-cache keys of its KV blocks, the prompt's and those its answer will fill where
     *     they are known (may be empty); see {@code PrefixKeys}
     */
    public Sequence(
            long requestId,
            long order,
            long arrivalNs,
            int adapter,
            int rank,
            int promptTokens,
            int outputTokens,
            long[] blockHashes) {
        this.requestId = requestId;
        this.order = order;
        this.arrivalNs = arrivalNs;
        this.intendedNs = arrivalNs;
        this.adapter = adapter;
        this.rank = rank;
        this.promptTokens = promptTokens;
        this.outputTokens = outputTokens;
        this.blockHashes = blockHashes;
        this.hashedBlocks = blockHashes.length;
        // sized for its whole life at 16-token blocks (vLLM's default), so it rarely grows block by block
        this.blocks = new KvBlockManager.BlockTable(Math.max(8, (promptTokens + outputTokens) / 16 + 1));
    }

    /**
     * The key of its next block, known only now (the live engine's: a block of real tokens its answer has just
     * filled): registered once the block's tokens are computed, so that a later prompt that repeats the answer (a
     * chat's next turn) reuses it, as vLLM caches generated blocks.
     */
    public void appendBlockHash(long key) {
        if (hashedBlocks == blockHashes.length) {
            blockHashes = java.util.Arrays.copyOf(blockHashes, Math.max(8, hashedBlocks * 2));
        }
        blockHashes[hashedBlocks++] = key;
    }

    /** Keys known so far ({@link #appendBlockHash}); the last is that of block {@code hashedBlocks() - 1}. */
    public int hashedBlocks() {
        return hashedBlocks;
    }

    /** The key of block {@code i} (below {@link #hashedBlocks}). */
    public long blockHash(int i) {
        return blockHashes[i];
    }

    /**
     * Puts its blocks that are full of {@code computed} tokens into the prefix cache under their keys,
     * generated tokens' blocks too (the next turn of a conversation repeats them), as vLLM does.
     */
    void registerFull(KvBlockManager kv, long computed, int blockSize) {
        if (registeredBlocks < hashedBlocks) {
            int full = (int) Math.min(hashedBlocks, computed / blockSize);
            while (registeredBlocks < full) {
                kv.register(blocks.get(registeredBlocks), blockHashes[registeredBlocks]);
                registeredBlocks++;
            }
        }
    }

    /** Tokens a prefill computes before sampling: the prompt, plus the output so far after a preemption. */
    int prefillTarget() {
        return promptTokens + generated;
    }

    /** The prefill tokens a router expected this request to compute (its owner's bookkeeping). */
    public void estimatedPrefillTokens(int tokens) {
        this.estimatedPrefillTokens = tokens;
    }

    public int estimatedPrefillTokens() {
        return estimatedPrefillTokens;
    }

    /** Gives the request a TTFT deadline: a first token later than this makes it time out (408). */
    public void deadlineNs(long ns) {
        this.deadlineNs = ns;
    }

    public long deadlineNs() {
        return deadlineNs;
    }

    public boolean timedOut() {
        return timedOut;
    }

    public long requestId() {
        return requestId;
    }

    public long arrivalNs() {
        return arrivalNs;
    }

    /** Records when the client meant to send it, when that was before it arrived (it waited at the client). */
    public void intendedNs(long ns) {
        this.intendedNs = ns;
    }

    /** When the client meant to send it; its arrival time unless it waited at the client. */
    public long intendedNs() {
        return intendedNs;
    }

    /** Records which client sent it (a cluster's traffic source), to tell that client when it ends. */
    public void client(int index) {
        this.client = index;
    }

    public int client() {
        return client;
    }

    public int adapter() {
        return adapter;
    }

    /**
     * Ends the request once it has {@code generatedTokens} tokens (a stop string or token came early);
     * the scheduler finishes it when the step that makes that many completes.
     */
    public void endAfter(int generatedTokens) {
        if (lazy) {
            throw new IllegalStateException("request " + requestId + " is counted in bulk; its end cannot move");
        }
        outputTokens = Math.max(1, Math.min(outputTokens, generatedTokens));
    }

    /** Tokens whose K/V are in the cache (positions {@code [0, computed)}). */
    public int computedTokens() {
        return computed;
    }

    /** Tokens this sequence computes in the planned step. */
    public int chunkTokens() {
        return chunk;
    }

    /** Whether the planned step samples a token for it (a decode, or a prefill's last chunk). */
    public boolean samplesThisStep() {
        return decoding || computed + chunk >= prefillTarget();
    }

    /** Its KV blocks, in position order. */
    public KvBlockManager.BlockTable blockTable() {
        return blocks;
    }

    public int promptTokens() {
        return promptTokens;
    }

    public int outputTokens() {
        return outputTokens;
    }

    public int generated() {
        return generated;
    }

    public long firstScheduledNs() {
        return firstScheduledNs;
    }

    public long firstTokenNs() {
        return firstTokenNs;
    }

    public long finishNs() {
        return finishNs;
    }

    public int preemptions() {
        return preemptions;
    }

    /** Prompt tokens found in the prefix cache at its first scheduling (vLLM's num_cached_tokens). */
    public long cachedTokens() {
        return cachedTokens;
    }
}

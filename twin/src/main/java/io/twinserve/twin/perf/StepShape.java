package io.twinserve.twin.perf;

/**
 * What a performance model needs to know about one scheduler step, aggregated over its sequences so that
 * pricing a step costs the same whatever the batch size. Mutable and reused by its owner (the
 * scheduler); {@link #clear()} before each step.
 */
public final class StepShape {
    /** Sequences in the batch. */
    public int sequences;
    /** Tokens computed this step: prefill chunk tokens plus one per decode. */
    public int newTokens;
    /** Sequences decoding one token. */
    public int decodeSequences;
    /** Σ over decodes of the context length attended (earlier tokens + the new one). */
    public long decodeContextTokens;
    /** Σ over prefill chunks of query-key pairs: n·c + n(n+1)/2 for a chunk of n tokens after c cached. */
    public long prefillAttentionPairs;
    /** Σ over all sequences of the tokens whose K/V are read this step (cached + new). */
    public long kvReadTokens;
    /** Sequences that sample a token this step (decodes and final prefill chunks). */
    public int sampledTokens;
    /** Sequences that start their first prefill chunk this step. */
    public int newRequests;
    /** Distinct adapters in the batch. */
    public int distinctAdapters;
    /** Σ of the ranks of the distinct adapters. */
    public long adapterRankSum;
    /** Tokens of sequences that use an adapter. */
    public int adapterTokens;
    /** Requests waiting in the queue after this step's admissions (the scheduler scans them every step). */
    public long waitingSequences;
    /** Adapter slots the replica reserves (0: LoRA disabled). A property of the replica, kept by clear(). */
    public int loraSlots;
    /**
     * The rank the adapter slots are sized for ({@code max_adapter_rank}; 0: unknown, priced as rank 16 or less). A
     * property of the replica, kept by clear().
     */
    public int loraSlotRank;
    /** Adapter slots holding an adapter, in the batch or not (set by the scheduler at planning). */
    public int loadedAdapters;
    /**
     * Requests wait while every adapter slot is pinned by running requests: vLLM's scheduler then walks its
     * whole waiting queue every step, skipping the requests whose adapter has no slot.
     */
    public boolean slotsBlocked;

    public void clear() {
        sequences = 0;
        newTokens = 0;
        decodeSequences = 0;
        decodeContextTokens = 0;
        prefillAttentionPairs = 0;
        kvReadTokens = 0;
        sampledTokens = 0;
        newRequests = 0;
        distinctAdapters = 0;
        adapterRankSum = 0;
        adapterTokens = 0;
        waitingSequences = 0;
        slotsBlocked = false;
        loadedAdapters = 0;
    }

    /** Adds a sequence computing {@code n} tokens after {@code cached} tokens already in its KV cache. */
    public void addSequence(int n, long cached, boolean decode, boolean samples, boolean starts, boolean adapter) {
        sequences++;
        newTokens += n;
        kvReadTokens += cached + n;
        if (decode) {
            decodeSequences++;
            decodeContextTokens += cached + 1;
        } else {
            prefillAttentionPairs += (long) n * cached + (long) n * (n + 1) / 2;
        }
        if (samples) {
            sampledTokens++;
        }
        if (starts) {
            newRequests++;
        }
        if (adapter) {
            adapterTokens += n;
        }
    }

    /** A copy of this shape. */
    public StepShape copy() {
        StepShape c = new StepShape();
        c.sequences = sequences;
        c.newTokens = newTokens;
        c.decodeSequences = decodeSequences;
        c.decodeContextTokens = decodeContextTokens;
        c.prefillAttentionPairs = prefillAttentionPairs;
        c.kvReadTokens = kvReadTokens;
        c.sampledTokens = sampledTokens;
        c.newRequests = newRequests;
        c.distinctAdapters = distinctAdapters;
        c.adapterRankSum = adapterRankSum;
        c.adapterTokens = adapterTokens;
        c.waitingSequences = waitingSequences;
        c.loraSlots = loraSlots;
        c.loraSlotRank = loraSlotRank;
        c.loadedAdapters = loadedAdapters;
        c.slotsBlocked = slotsBlocked;
        return c;
    }

    /**
     * The decodes' share of {@link #adapterTokens}. The aggregate does not say which sequences use an
     * adapter, so the share is proportional to the decodes' tokens, within what the totals allow.
     */
    public int decodeAdapterTokens() {
        if (newTokens == 0) {
            return 0;
        }
        int share = (int) ((long) adapterTokens * decodeSequences / newTokens);
        return Math.min(
                Math.min(adapterTokens, decodeSequences),
                Math.max(share, adapterTokens - (newTokens - decodeSequences)));
    }

    /**
     * This step's prefill chunks alone: the decodes and their share of the adapter tokens removed, the
     * adapters themselves kept (the batch still holds them).
     */
    public StepShape withoutDecodes() {
        StepShape c = copy();
        c.sequences -= decodeSequences;
        c.newTokens -= decodeSequences;
        // a decode reads its whole context, cached tokens plus the new one, as it attends to it
        c.kvReadTokens -= decodeContextTokens;
        c.sampledTokens -= decodeSequences;
        c.adapterTokens -= decodeAdapterTokens();
        c.decodeSequences = 0;
        c.decodeContextTokens = 0;
        return c;
    }

    /** This step's decodes alone, with their share of the adapter tokens and the batch's adapters. */
    public StepShape decodesOnly() {
        StepShape c = copy();
        c.sequences = decodeSequences;
        c.newTokens = decodeSequences;
        c.kvReadTokens = decodeContextTokens;
        c.sampledTokens = decodeSequences;
        c.adapterTokens = decodeAdapterTokens();
        c.prefillAttentionPairs = 0;
        // only a sequence's first prefill chunk starts it
        c.newRequests = 0;
        return c;
    }

    /**
     * This step with each decode computing and sampling {@code tokensPerDecode} tokens after its cached
     * context instead of one, as a speculative verification pass does. {@link #decodeContextTokens} then
     * counts the decodes' query-key pairs, n·c + n(n+1)/2 for n tokens after c cached, which for one token
     * is the context length it counts otherwise.
     */
    public StepShape withDecodeTokens(int tokensPerDecode) {
        if (tokensPerDecode < 1) {
            throw new IllegalArgumentException("tokens per decode must be >= 1, got " + tokensPerDecode);
        }
        StepShape c = copy();
        long extra = (long) (tokensPerDecode - 1) * decodeSequences;
        long cachedSum = decodeContextTokens - decodeSequences;
        c.newTokens = Math.toIntExact(newTokens + extra);
        c.decodeContextTokens =
                tokensPerDecode * cachedSum + (long) decodeSequences * tokensPerDecode * (tokensPerDecode + 1) / 2;
        c.kvReadTokens = kvReadTokens + extra;
        c.sampledTokens = Math.toIntExact(sampledTokens + extra);
        c.adapterTokens = Math.toIntExact(adapterTokens + (long) (tokensPerDecode - 1) * decodeAdapterTokens());
        return c;
    }

    /** A decode-only batch of {@code b} sequences, each with {@code context} tokens before this step. */
    public static StepShape decodeBatch(int b, long context) {
        StepShape s = new StepShape();
        for (int i = 0; i < b; i++) {
            s.addSequence(1, context, true, true, false, false);
        }
        return s;
    }
}

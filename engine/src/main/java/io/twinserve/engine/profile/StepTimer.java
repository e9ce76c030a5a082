package io.twinserve.engine.profile;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.ForwardBatch;
import java.util.Arrays;

/**
 * Builds one batch shape on a backend and times its forward pass. Each sequence gets KV blocks of its own
 * (sequence {@code i} the i-th run of consecutive blocks), so attention reads as many distinct bytes as it
 * would in serving. The cache is not filled first: the kernels' time does not depend on the values.
 */
final class StepTimer {
    private final Backend backend;
    private final ForwardBatch batch = new ForwardBatch();
    private final int[] ids;
    private int[] blocks = new int[0];
    private float[] logits = new float[0];

    StepTimer(Backend backend, int maxTokensPerSequence) {
        this.backend = backend;
        int vocab = backend.config().vocabSize();
        this.ids = new int[maxTokensPerSequence];
        for (int i = 0; i < ids.length; i++) {
            // spread over the vocabulary, away from the special ids at its start
            ids[i] = (int) ((3 + 7919L * (i + 1)) % vocab);
        }
    }

    /** KV tokens a shape needs: whole blocks for each sequence's context plus its new tokens. */
    static long kvTokensNeeded(int sequences, int tokensPerSequence, int context, int blockSize) {
        long perSequence = (context + tokensPerSequence + blockSize - 1) / blockSize;
        return sequences * perSequence * blockSize;
    }

    /**
     * Runs the shape {@code warmup} times, then {@code repetitions} times, and returns the sorted durations
     * in ns. Sequence {@code i} uses adapter slot {@code i % adapters}, or the base model when
     * {@code adapters} is 0.
     */
    long[] time(
            int sequences,
            int tokensPerSequence,
            int context,
            int adapters,
            boolean wantLogits,
            int warmup,
            int repetitions) {
        int blockSize = backend.blockSize();
        int perSequence = (context + tokensPerSequence + blockSize - 1) / blockSize;
        if (kvTokensNeeded(sequences, tokensPerSequence, context, blockSize) > backend.kvCacheTokens()) {
            throw new IllegalStateException("the KV cache of " + backend.kvCacheTokens() + " tokens cannot hold "
                    + sequences + " sequences of " + (context + tokensPerSequence) + " tokens");
        }
        if (blocks.length < perSequence) {
            blocks = new int[perSequence];
        }
        batch.clear();
        for (int s = 0; s < sequences; s++) {
            for (int i = 0; i < perSequence; i++) {
                blocks[i] = s * perSequence + i;
            }
            int slot = adapters == 0 ? -1 : s % adapters;
            batch.add(ids, 0, tokensPerSequence, context, slot, blocks, perSequence, wantLogits);
        }
        int rows = wantLogits ? sequences : 0;
        long need = (long) Math.max(1, rows) * backend.config().vocabSize();
        if (logits.length < need) {
            logits = new float[(int) need];
        }
        for (int i = 0; i < warmup; i++) {
            backend.forward(batch, logits);
        }
        long[] ns = new long[repetitions];
        for (int i = 0; i < repetitions; i++) {
            long start = System.nanoTime();
            backend.forward(batch, logits);
            ns[i] = Math.max(1, System.nanoTime() - start);
        }
        Arrays.sort(ns);
        return ns;
    }

    static long median(long[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}

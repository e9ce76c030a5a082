package io.twinserve.engine.profile;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.DeviceDraws;
import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.sample.Sampler;
import io.twinserve.engine.sample.SamplingParams;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Builds one batch shape on a backend and times its forward pass and the draws of its logit rows, as the live loop
 * makes them (a temperature of 1, OpenAI's default; in parallel from {@link Sampler#PARALLEL_FROM_VALUES} logits
 * on): on a GPU with a 128k-token vocabulary the host's draws are a share of the step the twin must price. Each
 * sequence gets KV blocks of its own (sequence {@code i} the i-th run of consecutive blocks), so attention reads as
 * many distinct bytes as it would in serving. The cache is not filled first: the kernels' time does not depend on
 * the values.
 */
final class StepTimer {
    private final Backend backend;
    private final ForwardBatch batch = new ForwardBatch();
    private final int[] ids;
    private int[] blocks = new int[0];
    private float[] logits = new float[0];
    private final List<Sampler> samplers = new ArrayList<>();
    /** The rows drawn on the backend's device, when it draws there, and their tokens. */
    private final DeviceDraws draws = new DeviceDraws();

    private int[] drawn = new int[0];

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
        int vocab = backend.config().vocabSize();
        while (samplers.size() < rows) {
            samplers.add(
                    new Sampler(new SamplingParams(1.0, 0, 1.0, samplers.size(), 16, List.of(), List.of(), false)));
        }
        for (int i = 0; i < warmup; i++) {
            step(rows, vocab);
        }
        long[] ns = new long[repetitions];
        for (int i = 0; i < repetitions; i++) {
            long start = System.nanoTime();
            step(rows, vocab);
            ns[i] = Math.max(1, System.nanoTime() - start);
        }
        Arrays.sort(ns);
        return ns;
    }

    /**
     * The step and its draws, as the live loop makes them: on a backend that draws on its device, every row there
     * (temperature 1 needs nothing else), with the uniform each sampler's stream gives; otherwise on the host.
     */
    private void step(int rows, int vocab) {
        if (!backend.drawsOnDevice() || rows == 0) {
            backend.forward(batch, logits);
            sample(rows, vocab);
            return;
        }
        batch.assignLogitRows();
        draws.clear(rows);
        if (drawn.length < rows) {
            drawn = new int[rows];
        }
        for (int r = 0; r < rows; r++) {
            draws.set(r, 1.0, 0, samplers.get(r).nextUniform());
        }
        backend.forward(batch, draws, drawn, logits);
    }

    /** Draws a token from each of the first {@code rows} logit rows, as the live loop would. */
    private void sample(int rows, int vocab) {
        Sampler.drawRows(
                rows, vocab, Sampler.PARALLEL_FROM_VALUES, r -> samplers.get(r).sample(logits, r * vocab, vocab));
    }

    static long median(long[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}

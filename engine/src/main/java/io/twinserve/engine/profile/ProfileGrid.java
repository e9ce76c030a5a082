package io.twinserve.engine.profile;

import java.util.List;

/**
 * The batch shapes a profile measures, with warm-up runs and repetitions (the median is kept).
 *
 * @param tokenCounts tokens per step for the linear-layer table, each as that many one-token sequences
 * @param decodeBatches decode batch sizes timed at each context length (each also in tokenCounts)
 * @param contextTokens context lengths of the decode batches (tokens already in the KV cache)
 * @param prefillChunks prefill chunk sizes, each timed after 0 and after the largest context (each also in
 *     tokenCounts)
 * @param loraBatches sequences of the LoRA steps, one token each (each also in tokenCounts): several, so that
 *     the fit can tell a LoRA cost per step from one per adapter token
 * @param adapterCounts distinct adapters in a LoRA step, assigned to its sequences round-robin
 * @param ranks adapter ranks
 */
public record ProfileGrid(
        List<Integer> tokenCounts,
        List<Integer> decodeBatches,
        List<Integer> contextTokens,
        List<Integer> prefillChunks,
        List<Integer> loraBatches,
        List<Integer> adapterCounts,
        List<Integer> ranks,
        int warmup,
        int repetitions) {

    public ProfileGrid {
        tokenCounts = positive("token_counts", tokenCounts);
        decodeBatches = positive("decode_batches", decodeBatches);
        contextTokens = positive("context_tokens", contextTokens);
        prefillChunks = positive("prefill_chunks", prefillChunks);
        adapterCounts = positive("adapter_counts", adapterCounts);
        ranks = positive("ranks", ranks);
        if (tokenCounts.size() < 2) {
            throw new IllegalArgumentException(
                    "token_counts needs at least two values to interpolate, got " + tokenCounts);
        }
        for (int b : decodeBatches) {
            inTable("decode_batches", b, tokenCounts);
        }
        for (int p : prefillChunks) {
            inTable("prefill_chunks", p, tokenCounts);
        }
        loraBatches = positive("lora_batches", loraBatches);
        for (int b : loraBatches) {
            inTable("lora_batches", b, tokenCounts);
        }
        int maxAdapters = adapterCounts.getLast();
        if (maxAdapters > loraBatches.getFirst()) {
            throw new IllegalArgumentException(
                    "adapter_counts goes up to " + maxAdapters + ", but the smallest of" + " lora_batches "
                            + loraBatches + " has fewer sequences to carry them (one adapter per sequence at least)");
        }
        if (warmup < 0 || repetitions < 1) {
            throw new IllegalArgumentException(
                    "warm-up must be >= 0 and repetitions >= 1, got " + warmup + " and " + repetitions);
        }
    }

    /** The default grid: minutes on a 1B model with two cores. */
    public static ProfileGrid standard() {
        return new ProfileGrid(
                List.of(1, 2, 4, 8, 16, 32, 64, 128, 256),
                List.of(1, 4, 16),
                List.of(128, 512, 1024),
                List.of(32, 128),
                List.of(8, 64),
                List.of(1, 2, 4),
                List.of(8, 16, 32),
                2,
                5);
    }

    /**
     * The grid for a GPU (issue 21: what the twin needs to price the CUDA engine): the linear-layer table up to a
     * 2,048-token step, decode batches of 1, 8, 64 and 128 at contexts of 128, 1,024 and 2,048 tokens, prefill
     * chunks of 512 and 2,048, and LoRA steps of 32, 64 and 128 sequences with 1, 8 and 32 distinct adapters of
     * ranks 8, 16 and 32. Its largest KV need (128 sequences of 2,048 tokens) and step buffers fit an 80 GB card
     * beside an 8B model's weights (ProfileGridTest).
     */
    public static ProfileGrid gpu() {
        return new ProfileGrid(
                List.of(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048),
                List.of(1, 8, 64, 128),
                List.of(128, 1024, 2048),
                List.of(512, 2048),
                List.of(32, 64, 128),
                List.of(1, 8, 32),
                List.of(8, 16, 32),
                3,
                10);
    }

    /** A small grid for tests and a first look: seconds on a tiny model. */
    public static ProfileGrid quick() {
        return new ProfileGrid(
                List.of(1, 2, 4, 8),
                List.of(1, 2),
                List.of(16, 48),
                List.of(4, 8),
                List.of(2, 8),
                List.of(1, 2),
                List.of(4, 8),
                3,
                5);
    }

    public int maxContext() {
        return contextTokens.stream().mapToInt(Integer::intValue).max().orElseThrow();
    }

    public int maxRank() {
        return ranks.stream().mapToInt(Integer::intValue).max().orElseThrow();
    }

    public int maxAdapters() {
        return adapterCounts.stream().mapToInt(Integer::intValue).max().orElseThrow();
    }

    private static List<Integer> positive(String key, List<Integer> values) {
        if (values == null || values.isEmpty()) {
            throw new IllegalArgumentException(key + " must list at least one value");
        }
        for (int v : values) {
            if (v < 1) {
                throw new IllegalArgumentException(key + " must be >= 1, got " + v);
            }
        }
        return values.stream().distinct().sorted().toList();
    }

    private static void inTable(String key, int value, List<Integer> tokenCounts) {
        if (!tokenCounts.contains(value)) {
            throw new IllegalArgumentException(key + " " + value + " must also be one of token_counts " + tokenCounts
                    + ": the fits subtract the table's time at the same token count");
        }
    }
}

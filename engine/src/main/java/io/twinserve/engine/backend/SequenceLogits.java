package io.twinserve.engine.backend;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelFiles;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The logits at every position of one sequence, run through a backend in chunks (each chunk reading the KV cache
 * the earlier ones wrote), with an adapter or none: what {@code model logits} prints and what the GPU check
 * compares the CUDA backend with the CPU backend and with transformers by.
 */
public final class SequenceLogits {
    /** KV block size of the run (16 tokens, as the engine's default). */
    public static final int BLOCK_SIZE = 16;

    private SequenceLogits() {}

    /**
     * One run's backend: {@code kind} sized for the sequence alone (one adapter slot, at the adapter's rank).
     *
     * @param kvDtype the KV cache's dtype, null for auto
     * @param chunk tokens per forward step, 0 for the whole sequence in one
     */
    public static EngineBackend backend(
            EngineBackend.Kind kind, int tp, int tokens, Path adapter, DType kvDtype, int chunk) {
        int blocks = (tokens + BLOCK_SIZE - 1) / BLOCK_SIZE;
        int rank = adapter == null ? 8 : LoraAdapter.readRank(adapter);
        return new EngineBackend(
                kind,
                tp,
                0,
                (long) blocks * BLOCK_SIZE,
                BLOCK_SIZE,
                1,
                rank,
                kvDtype,
                0.9,
                Math.max(1, chunk <= 0 ? tokens : Math.min(chunk, tokens)),
                1,
                0);
    }

    /**
     * Runs {@code ids} through {@code backend} (built over {@code files}, sized by {@link #backend}) in chunks of
     * {@code chunk} tokens (0: one step), through {@code adapter} (null: the base model); returns [position][vocab].
     */
    public static float[] run(Backend backend, ModelFiles files, int[] ids, Path adapter, int chunk) {
        if (chunk < 0) {
            throw new IllegalArgumentException("--chunk must be 0 (whole sequence) or positive, got " + chunk);
        }
        if (ids.length == 0) {
            throw new IllegalArgumentException("no tokens to run");
        }
        int vocab = files.config().vocabSize();
        if (adapter != null) {
            backend.loadAdapter(0, LoraAdapter.load("adapter", adapter, files.config()));
        }
        int[] blocks = new int[(ids.length + BLOCK_SIZE - 1) / BLOCK_SIZE];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = i;
        }
        int step = chunk == 0 ? ids.length : chunk;
        float[] logits = new float[ids.length * vocab];
        ForwardBatch batch = new ForwardBatch();
        for (int from = 0; from < ids.length; from += step) {
            int count = Math.min(step, ids.length - from);
            batch.clear();
            batch.allLogits(true);
            batch.add(ids, from, count, from, adapter == null ? -1 : 0, blocks, blocks.length, true);
            float[] part = new float[count * vocab];
            backend.forward(batch, part);
            System.arraycopy(part, 0, logits, from * vocab, part.length);
        }
        return logits;
    }

    /**
     * The document {@code model logits} writes and the GPU check reads: the model and adapter folders, tp, the chunk,
     * the backend and its KV dtype, the prompt (null when given as tokens), the tokens and [position][vocab] logits.
     */
    public static ObjectNode document(
            Path model,
            Path adapter,
            int tp,
            int chunk,
            String backend,
            DType kvDtype,
            String prompt,
            int[] ids,
            float[] logits) {
        ObjectNode root = JSON.createObjectNode();
        root.put("model", model.toAbsolutePath().toString());
        root.put("adapter", adapter == null ? null : adapter.toAbsolutePath().toString());
        root.put("tp", tp);
        root.put("chunk", chunk);
        root.put("backend", backend);
        root.put("kv_cache_dtype", kvDtype.name().toLowerCase(Locale.ROOT));
        if (prompt != null) {
            root.put("prompt", prompt);
        }
        ArrayNode t = root.putArray("tokens");
        for (int id : ids) {
            t.add(id);
        }
        root.set("logits", rows(logits, ids.length));
        return root;
    }

    /** [position][vocab] logits as a JSON array of {@code positions} rows. */
    public static ArrayNode rows(float[] logits, int positions) {
        int vocab = logits.length / positions;
        ArrayNode rows = JSON.createArrayNode();
        for (int p = 0; p < positions; p++) {
            ArrayNode row = rows.addArray();
            for (int v = 0; v < vocab; v++) {
                row.add(logits[p * vocab + v]);
            }
        }
        return rows;
    }

    private static final ObjectMapper JSON = new ObjectMapper();
}

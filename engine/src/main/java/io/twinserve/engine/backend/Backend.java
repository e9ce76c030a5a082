package io.twinserve.engine.backend;

import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;

/**
 * A step executor: runs a batch mixing prefill chunks and decodes over a paged KV cache, with the
 * batch's adapters applied from their slots in one pass (the CPU backend for real; the simulated one
 * waits the twin's predicted time instead).
 */
public interface Backend extends AutoCloseable {

    ModelConfig config();

    /** The KV cache's capacity in tokens and its block size, which the scheduler's KV manager must match. */
    long kvCacheTokens();

    int blockSize();

    /** Adapter slots (GPU slots on a GPU; prepared copies on the CPU). */
    int adapterSlots();

    /** The largest adapter rank a slot holds (the rank slots are reserved at). */
    default int maxAdapterRank() {
        return LoraAdapter.MAX_RANK;
    }

    /** Copies an adapter into a slot for real, replacing what was there. Returns the bytes copied. */
    long loadAdapter(int slot, LoraAdapter adapter);

    /** Empties a slot. */
    void unloadAdapter(int slot);

    /**
     * Runs the batch and writes logits (vocabulary-sized rows, one per row that {@link
     * ForwardBatch#assignLogitRows} gave) into {@code logits}, which must hold them all.
     */
    void forward(ForwardBatch batch, float[] logits);

    /** A short name for reports: "cpu", "cuda". */
    String name();

    @Override
    void close();
}

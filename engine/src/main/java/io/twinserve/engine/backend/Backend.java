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

    /** Whether this backend draws rows on its device ({@link #forward(ForwardBatch, DeviceDraws, int[], float[])}). */
    default boolean drawsOnDevice() {
        return false;
    }

    /**
     * Runs the batch; the rows {@code draws} marks are drawn on the device into {@code tokens[row]}, the others'
     * logits written into {@code logits} as {@link #forward(ForwardBatch, float[])} writes them (the rows drawn on
     * the device may be left unwritten). A backend that does not draw on its device takes no row there: it writes
     * every row's logits and no token.
     */
    default void forward(ForwardBatch batch, DeviceDraws draws, int[] tokens, float[] logits) {
        if (draws.count() > 0) {
            throw new IllegalStateException(name() + " does not draw on a device; " + draws.count() + " rows asked");
        }
        forward(batch, logits);
    }

    /** A short name for reports: "cpu", "cuda". */
    String name();

    @Override
    void close();
}

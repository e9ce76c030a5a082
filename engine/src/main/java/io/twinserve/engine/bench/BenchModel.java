package io.twinserve.engine.bench;

import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.write.RandomModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The shape of the benchmark's random Llama-architecture bf16 model, and its files, written once into a
 * cache folder keyed by the shape and the seed.
 */
public record BenchModel(
        int layers,
        int hidden,
        int intermediate,
        int heads,
        int kvHeads,
        int headDim,
        int vocab,
        boolean tiedEmbeddings) {

    private static final String READY = "twinserve-bench-ready";

    public BenchModel {
        for (int v : new int[] {layers, hidden, intermediate, heads, kvHeads, headDim, vocab}) {
            if (v < 1) {
                // (named one by one: in a compact constructor `this` still reads all zeros)
                throw new IllegalArgumentException(String.format(
                        "model dimensions must be >= 1, got layers %d, hidden %d, intermediate %d, heads %d,"
                                + " kv heads %d, head dim %d, vocab %d",
                        layers, hidden, intermediate, heads, kvHeads, headDim, vocab));
            }
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException(
                    "heads (" + heads + ") must be a multiple of kv heads (" + kvHeads + ")");
        }
    }

    /**
     * About 1.04 billion parameters in the shape of Llama 3.2 1B (16 layers, hidden 2048, MLP 8192, 32 query and
     * 8 KV heads of 64) with a 32,000-token vocabulary and tied embeddings: 2.08 GB in bf16.
     */
    public static BenchModel oneBillion() {
        return new BenchModel(16, 2048, 8192, 32, 8, 64, 32000, true);
    }

    /**
     * Llama-3.1-8B's shape (32 layers, hidden 4096, MLP 14336, 32 query and 8 KV heads of 128, vocabulary 128,256,
     * untied): 8.03 billion parameters, 16.06 GB in bf16. The GPU benchmark's model, filled on the device.
     */
    public static BenchModel llama8b() {
        return new BenchModel(32, 4096, 14336, 32, 8, 128, 128256, false);
    }

    /** A model small enough for a test to bench in seconds. */
    public static BenchModel tiny() {
        return new BenchModel(2, 128, 256, 4, 2, 32, 512, true);
    }

    public ModelConfig config() {
        return RandomModel.config(
                Architecture.LLAMA,
                layers,
                hidden,
                intermediate,
                heads,
                kvHeads,
                headDim,
                vocab,
                DType.BF16,
                tiedEmbeddings,
                1,
                List.of(2));
    }

    public long parameters() {
        return config().parameters();
    }

    /**
     * Weight bytes a decode step reads: every layer's weights and the LM head (with tied embeddings, the
     * embedding matrix read as the head); an untied embedding is only looked up, a few rows per step.
     */
    public long weightBytesPerStep() {
        long lookedUpOnly = tiedEmbeddings ? 0 : (long) vocab * hidden;
        return (parameters() - lookedUpOnly) * DType.BF16.bytes();
    }

    /** The cache folder's name for this shape and seed. */
    public String key(long seed) {
        return "llama-l" + layers + "-h" + hidden + "-i" + intermediate + "-a" + heads + "-kv" + kvHeads + "-d"
                + headDim + "-v" + vocab + (tiedEmbeddings ? "-tied" : "") + "-bf16-seed" + seed;
    }

    /**
     * The model's folder under {@code cacheRoot}, written first when absent or incomplete. Returns whether it
     * was reused.
     */
    public boolean ensureWritten(Path dir, long seed) throws IOException {
        if (Files.isRegularFile(dir.resolve(READY))) {
            return true;
        }
        Files.createDirectories(dir);
        RandomModel.write(new RandomModel.Spec(config(), seed, 1), dir);
        // written last: a run interrupted while writing leaves no marker and is redone
        Files.writeString(dir.resolve(READY), key(seed) + "\n");
        return false;
    }
}

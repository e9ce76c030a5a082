package io.twinserve.engine.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The kernels of {@code engine/src/main/cuda/twinserve_kernels.cu}, compiled by {@code
 * scripts/cuda/build-kernels.sh} into the checked-in fatbin this class loads. {@link #NAMES} is the Java side's
 * list of their entry points; {@code CudaKernelArtifactsTest} checks that the source, the fatbin and this list
 * agree, and rebuilds the fatbin to compare it byte for byte where nvcc is installed.
 */
public final class CudaKernels {
    /** The fatbin, a resource beside this class. */
    public static final String RESOURCE = "twinserve_kernels.fatbin";

    /** Every kernel's entry point, in the order of the source. */
    public static final List<String> NAMES = List.of(
            "ts_probe_read",
            "ts_probe_copy",
            "ts_embed_gather",
            "ts_add_rmsnorm",
            "ts_silu_mul",
            "ts_to_bf16",
            "ts_add_bias_rows",
            "ts_gemv_bf16",
            "ts_gemv_silu_bf16",
            "ts_qk_rope_kv_write",
            "ts_paged_attention",
            "ts_paged_attention_split",
            "ts_attention_combine",
            "ts_prefill_attention",
            "ts_random_bf16",
            "ts_lora_shrink",
            "ts_lora_expand",
            "ts_sample_rows",
            "ts_gemm_bf16");

    /** The tile of a {@code ts_gemm_bf16} block: 128 tokens x 128 outputs (grid: outputs, then tokens). */
    public static final int GEMM_TILE = 128;

    /** Threads of a {@code ts_gemm_bf16} block (8 warps). */
    public static final int GEMM_THREADS = 256;

    /** Threads of a {@code ts_sample_rows} block (one block per row drawn). */
    public static final int SAMPLE_THREADS = 512;

    /**
     * Ints per draw in {@code ts_sample_rows}'s list: row, temperature, min-p, u (two words), top-k, top-p and one
     * unused.
     */
    public static final int DRAW_INTS = 8;

    /** Tokens one {@code ts_gemv_bf16} launch multiplies at most (its register tile). */
    public static final int GEMV_MAX_TOKENS = 8;

    /** Threads of a {@code ts_gemv_bf16} block. */
    public static final int GEMV_THREADS = 256;

    /** Output rows one {@code ts_gemv_bf16} block of {@link #GEMV_THREADS} computes (two per warp). */
    public static final int GEMV_ROWS_PER_BLOCK = GEMV_THREADS / 32 * 2;

    /**
     * The block size of a {@code ts_paged_attention} launch (grid: rows x KV heads): a warp for each q head that
     * shares a KV head, so that they read its K and V rows together (at most 16 warps; more heads per KV head
     * take turns).
     */
    public static int attentionThreads(int heads, int kvHeads) {
        return 32 * Math.max(1, Math.min(16, heads / kvHeads));
    }

    /**
     * Blocks a split-K attention launch ({@code ts_paged_attention_split}) aims at: two per SM of the largest GPUs
     * here (132 SMs on an H100 SXM). A decode step of one sequence with 8 KV heads is 8 blocks unsplit: 6% of the SMs
     * stream its K and V.
     */
    public static final int SPLIT_TARGET_BLOCKS = 264;

    /** The most splits of one row's positions. */
    public static final int MAX_SPLITS = 32;

    /**
     * The fewest positions worth a split of their own by default: a shorter run does not pay for its partials' write
     * and read and the combine's launch.
     */
    public static final int MIN_SPLIT_POSITIONS = 256;

    /**
     * How many runs a step's attention splits each row's positions into (FlashDecoding): 1 (no split, {@code
     * ts_paged_attention}) when its {@code rows} x {@code kvHeads} blocks already fill {@link #SPLIT_TARGET_BLOCKS}
     * halfway or its longest context ({@code maxContext}, an upper bound) holds fewer than two runs of {@code
     * minPositions}; otherwise enough splits to reach the target, at most {@link #MAX_SPLITS} and one per {@code
     * minPositions} of context. A function of the launch's shape alone, so that a decode graph captured for a
     * bucket and block-table width splits every step it replays alike.
     */
    public static int attentionSplits(int rows, int kvHeads, int maxContext, int minPositions) {
        long blocks = (long) rows * kvHeads;
        if (rows < 1 || minPositions < 1 || 2 * blocks >= SPLIT_TARGET_BLOCKS) {
            return 1;
        }
        long byOccupancy = (SPLIT_TARGET_BLOCKS + blocks - 1) / blocks;
        long byLength = maxContext / minPositions;
        return (int) Math.max(1, Math.min(MAX_SPLITS, Math.min(byOccupancy, byLength)));
    }

    /**
     * The most floats of partials a split attention launch of up to {@code tokens} rows writes, whatever the contexts
     * and however few positions a split takes (splits grow as rows shrink, so rows x splits stays under twice the
     * target's blocks per KV head).
     */
    public static long maxAttentionPartialFloats(int tokens, int kvHeads, int heads, int headDim) {
        long most = 0;
        for (int rows = 1; rows <= tokens; rows++) {
            int splits = attentionSplits(rows, kvHeads, Integer.MAX_VALUE, 1);
            if (splits == 1) {
                break;
            }
            most = Math.max(most, attentionPartialFloats(rows, splits, heads, headDim));
        }
        return most;
    }

    /**
     * Floats of split-K attention's partials for a launch of {@code rows} rows in {@code splits} splits: per row,
     * q head and split, the head's unnormalised sums and (max, sum).
     */
    public static long attentionPartialFloats(int rows, int splits, int heads, int headDim) {
        return (long) rows * splits * heads * (headDim + 2);
    }

    /** The largest head dimension the attention and RoPE kernels take (8 values per lane of a warp). */
    public static final int MAX_HEAD_DIM = 256;

    private CudaKernels() {}

    /** The fatbin's bytes, as {@code cuModuleLoadData} takes them. */
    public static byte[] fatbin() {
        try (InputStream in = CudaKernels.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the CUDA kernels' fatbin " + RESOURCE + " is missing from the build");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading the CUDA kernels' fatbin " + RESOURCE, e);
        }
    }
}

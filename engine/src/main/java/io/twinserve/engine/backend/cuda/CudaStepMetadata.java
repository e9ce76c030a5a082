package io.twinserve.engine.backend.cuda;

import io.twinserve.engine.backend.DeviceDraws;
import io.twinserve.engine.backend.ForwardBatch;
import java.util.Arrays;

/**
 * A step's metadata packed for the device in one int array, so that a step costs one host-to-device copy: per
 * token its id, position, KV cache slot ({@code block * blockSize + offset}, where its K and V are written) and
 * adapter slot (-1: the base model); per attention row (one per token: a prefill token attends causally to the
 * positions up to its own, a decode token to its whole context) the context length and the sequence's block
 * table padded to {@link #maxBlocks}; the tokens whose logits are wanted, in logit-row order; and, for a decode graph
 * that draws its tokens, one draw per row for {@code ts_sample_rows} ({@link #packDraws}). Offsets into {@link #data}
 * are in ints; the arrays are reused from step to step.
 */
public final class CudaStepMetadata {
    /** Rows of a prefill tile ({@code ts_prefill_attention}'s 16-row mma tile). */
    public static final int PREFILL_TILE_ROWS = 16;

    private int[] data = new int[1024];
    private int tokens;
    private int maxBlocks;
    private int logitRows;
    private int attentionRows;
    private int prefillTiles;
    private int drawRows;

    /** Packs {@code batch} (its logit rows assigned) for a cache of {@code blockSize}-token blocks, every row attended by the row kernel. */
    public void pack(ForwardBatch batch, int blockSize) {
        pack(batch, blockSize, false);
    }

    /**
     * Packs {@code batch} (its logit rows assigned) for a cache of {@code blockSize}-token blocks. With {@code
     * prefillTiles}, the rows of each sequence that brings more than one token (a prefill chunk) are cut into tiles
     * of up to {@link #PREFILL_TILE_ROWS} consecutive rows for {@code ts_prefill_attention}; the other rows (a
     * decode's one) are listed for {@code ts_paged_attention}. Without it every row is listed.
     */
    public void pack(ForwardBatch batch, int blockSize, boolean prefillTiles) {
        tokens = batch.tokens();
        drawRows = 0;
        maxBlocks = 1;
        for (int s = 0; s < batch.sequences(); s++) {
            maxBlocks = Math.max(maxBlocks, batch.blockCount(s));
        }
        logitRows = batch.logitRows();
        attentionRows = 0;
        this.prefillTiles = 0;
        for (int s = 0; s < batch.sequences(); s++) {
            int n = batch.count(s);
            if (prefillTiles && n > 1) {
                this.prefillTiles += (n + PREFILL_TILE_ROWS - 1) / PREFILL_TILE_ROWS;
            } else {
                attentionRows += n;
            }
        }
        int size = size();
        if (data.length < size) {
            data = new int[Math.max(size, data.length * 2)];
        }
        for (int t = 0; t < tokens; t++) {
            packToken(batch, t, batch.tokenSequence(t), blockSize);
        }
        int logits = logitTokensOffset();
        for (int s = 0; s < batch.sequences(); s++) {
            int first = batch.logitRow(s);
            if (first < 0) {
                continue;
            }
            if (batch.allLogits()) {
                for (int i = 0; i < batch.count(s); i++) {
                    data[logits + first + i] = batch.start(s) + i;
                }
            } else {
                data[logits + first] = batch.start(s) + batch.count(s) - 1;
            }
        }
        int rows = attentionRowsOffset();
        int tiles = prefillTilesOffset();
        for (int s = 0; s < batch.sequences(); s++) {
            int start = batch.start(s);
            int n = batch.count(s);
            if (prefillTiles && n > 1) {
                for (int i = 0; i < n; i += PREFILL_TILE_ROWS) {
                    data[tiles++] = start + i;
                    data[tiles++] = Math.min(PREFILL_TILE_ROWS, n - i);
                }
            } else {
                for (int i = 0; i < n; i++) {
                    data[rows++] = start + i;
                }
            }
        }
    }

    /**
     * Packs a decode-only {@code batch} (every sequence one token and one logit row, in order) padded to {@code
     * bucket} tokens with block tables {@code maxBlocks} wide, so that the layout, and so every offset, is the same
     * for every step of that bucket and width (what a captured graph's pointers need). A padding row reads token 0
     * at position 0, writes its K and V into block {@code padBlock}, which no sequence owns, attends to that one
     * position and uses no adapter; its logits are computed and not read.
     */
    public void packDecode(ForwardBatch batch, int blockSize, int bucket, int maxBlocks, int padBlock) {
        int n = batch.sequences();
        if (n > bucket || batch.tokens() != n) {
            throw new IllegalArgumentException(
                    "a decode step of " + n + " sequences and " + batch.tokens() + " tokens in a bucket of " + bucket);
        }
        tokens = bucket;
        drawRows = 0;
        this.maxBlocks = maxBlocks;
        logitRows = bucket;
        attentionRows = bucket;
        prefillTiles = 0;
        int size = size();
        if (data.length < size) {
            data = new int[Math.max(size, data.length * 2)];
        }
        int blockTables = blockTablesOffset();
        for (int t = 0; t < bucket; t++) {
            int row = blockTables + t * maxBlocks;
            if (t < n) {
                if (batch.blockCount(t) > maxBlocks) {
                    throw new IllegalArgumentException(
                            "sequence " + t + " has " + batch.blockCount(t) + " blocks, past the width " + maxBlocks);
                }
                // a decode step's token t is its sequence t
                packToken(batch, t, t, blockSize);
            } else {
                data[t] = 0;
                data[tokens + t] = 0;
                data[2 * tokens + t] = padBlock * blockSize;
                data[3 * tokens + t] = -1;
                data[4 * tokens + t] = 1;
                data[row] = padBlock;
                Arrays.fill(data, row + 1, row + maxBlocks, 0);
            }
            data[logitTokensOffset() + t] = t;
            data[attentionRowsOffset() + t] = t;
        }
    }

    /**
     * Appends, after what {@link #packDecode} packed, one draw of {@link CudaKernels#DRAW_INTS} ints per logit row of
     * the bucket for {@code ts_sample_rows} (at {@link #drawsOffset}): the rows {@code draws} draws on the device
     * (every real row must be), then the padding rows marked -1, which the kernel skips. Its layout is fixed for the
     * bucket, as a graph's pointers need.
     */
    public void packDraws(DeviceDraws draws) {
        int n = draws.rows();
        if (n > logitRows || draws.count() != n) {
            throw new IllegalArgumentException("a graph draws every row of its step on the device: " + draws.count()
                    + " of " + n + " rows asked, in a bucket of " + logitRows);
        }
        drawRows = logitRows;
        int size = size();
        if (data.length < size) {
            data = Arrays.copyOf(data, Math.max(size, data.length * 2));
        }
        int at = drawsOffset();
        for (int row = 0; row < logitRows; row++) {
            if (row < n) {
                putDraw(draws, row, data, at + row * CudaKernels.DRAW_INTS);
            } else {
                Arrays.fill(data, at + row * CudaKernels.DRAW_INTS, at + (row + 1) * CudaKernels.DRAW_INTS, 0);
                data[at + row * CudaKernels.DRAW_INTS] = -1;
            }
        }
    }

    /**
     * Writes row {@code row}'s draw as {@code ts_sample_rows} reads it into {@code out[at..at + DRAW_INTS)}: the row,
     * the temperature's and min-p's float bits, the uniform's double bits (high word, then low), top-k, top-p's float
     * bits and one unused.
     */
    static void putDraw(DeviceDraws draws, int row, int[] out, int at) {
        long u = Double.doubleToRawLongBits(draws.uniform(row));
        out[at] = row;
        out[at + 1] = Float.floatToRawIntBits(draws.temperature(row));
        out[at + 2] = Float.floatToRawIntBits(draws.minP(row));
        out[at + 3] = (int) (u >>> 32);
        out[at + 4] = (int) u;
        out[at + 5] = draws.topK(row);
        out[at + 6] = Float.floatToRawIntBits(draws.topP(row));
        out[at + 7] = 0;
    }

    /** Writes token {@code t} of sequence {@code s}: its id, position, cache slot, adapter, context and block table. */
    private void packToken(ForwardBatch batch, int t, int s, int blockSize) {
        int pos = batch.tokenPosition(t);
        data[t] = batch.tokenId(t);
        data[tokens + t] = pos;
        data[2 * tokens + t] = batch.block(s, pos / blockSize) * blockSize + pos % blockSize;
        data[3 * tokens + t] = batch.slot(s);
        data[4 * tokens + t] = pos + 1;
        int row = blockTablesOffset() + t * maxBlocks;
        int n = batch.blockCount(s);
        for (int i = 0; i < n; i++) {
            data[row + i] = batch.block(s, i);
        }
        Arrays.fill(data, row + n, row + maxBlocks, 0);
    }

    /** The packed ints; the first {@link #size()} are this step's. */
    public int[] data() {
        return data;
    }

    public int size() {
        return 5 * tokens
                + tokens * maxBlocks
                + logitRows
                + attentionRows
                + 2 * prefillTiles
                + CudaKernels.DRAW_INTS * drawRows;
    }

    /** Draws packed for {@code ts_sample_rows} (0 unless {@link #packDraws}), at {@link #drawsOffset}. */
    public int drawRows() {
        return drawRows;
    }

    public int drawsOffset() {
        return prefillTilesOffset() + 2 * prefillTiles;
    }

    /** Rows {@code ts_paged_attention} attends (listed at {@link #attentionRowsOffset}). */
    public int attentionRows() {
        return attentionRows;
    }

    /** Prefill tiles for {@code ts_prefill_attention} (first row and row count each, at {@link #prefillTilesOffset}). */
    public int prefillTiles() {
        return prefillTiles;
    }

    public int attentionRowsOffset() {
        return logitTokensOffset() + logitRows;
    }

    public int prefillTilesOffset() {
        return attentionRowsOffset() + attentionRows;
    }

    public int tokens() {
        return tokens;
    }

    /** The longest block table of the step: the stride of the block tables. */
    public int maxBlocks() {
        return maxBlocks;
    }

    public int logitRows() {
        return logitRows;
    }

    public int tokenIdsOffset() {
        return 0;
    }

    public int positionsOffset() {
        return tokens;
    }

    public int slotMappingOffset() {
        return 2 * tokens;
    }

    public int adapterSlotsOffset() {
        return 3 * tokens;
    }

    public int contextLensOffset() {
        return 4 * tokens;
    }

    public int blockTablesOffset() {
        return 5 * tokens;
    }

    public int logitTokensOffset() {
        return 5 * tokens + tokens * maxBlocks;
    }
}

package io.twinserve.engine.backend;

import io.twinserve.twin.perf.StepShape;
import java.util.Arrays;

/**
 * One step's work for a backend, in primitive arrays reused from step to step: for each sequence, the
 * tokens it computes this step (a prefill chunk or one decode token), how many of its tokens are already
 * in the KV cache, its adapter slot, its KV block table, and whether to return logits for its last token
 * (or, for tests, for every token).
 */
public final class ForwardBatch {
    private int sequences;
    private int tokens;
    private int[] tokenIds = new int[64];
    private int[] tokenSeq = new int[64];
    private int[] tokenPos = new int[64];
    private int[] seqStart = new int[8];
    private int[] seqCount = new int[8];
    private int[] seqContext = new int[8];
    private int[] seqSlot = new int[8];
    private int[][] seqBlocks = new int[8][];
    private int[] seqBlockCount = new int[8];
    private int[] seqLogitRow = new int[8];
    private boolean allLogits;
    private int logitRows;
    private StepShape stepShape;

    public void clear() {
        sequences = 0;
        tokens = 0;
        logitRows = 0;
        allLogits = false;
        stepShape = null;
    }

    /**
     * The scheduler's aggregate of this step, as the twin's performance model prices it (read, not kept,
     * by the backend), or null when the caller has none.
     */
    public void stepShape(StepShape shape) {
        this.stepShape = shape;
    }

    public StepShape stepShape() {
        return stepShape;
    }

    /** Logits for every token of every sequence (reference comparisons), not just the last ones asked for. */
    public void allLogits(boolean all) {
        this.allLogits = all;
    }

    public boolean allLogits() {
        return allLogits;
    }

    /**
     * Adds a sequence computing {@code count} tokens {@code ids[from..from+count)} at positions
     * {@code context..context+count).
     *
     * @param slot adapter slot, or -1 for the base model
     * @param blocks KV block ids for positions {@code 0..} (block {@code i} holds positions
     *     {@code [i * blockSize, (i+1) * blockSize)}); the array is copied
     * @param wantLogits whether to return logits for the last token
     * @return the sequence's index in the batch
     */
    public int add(
            int[] ids, int from, int count, int context, int slot, int[] blocks, int blockCount, boolean wantLogits) {
        if (count < 1) {
            throw new IllegalArgumentException("a sequence computes at least one token, got " + count);
        }
        int s = sequences++;
        if (s == seqStart.length) {
            int n = s * 2;
            seqStart = Arrays.copyOf(seqStart, n);
            seqCount = Arrays.copyOf(seqCount, n);
            seqContext = Arrays.copyOf(seqContext, n);
            seqSlot = Arrays.copyOf(seqSlot, n);
            seqBlocks = Arrays.copyOf(seqBlocks, n);
            seqBlockCount = Arrays.copyOf(seqBlockCount, n);
            seqLogitRow = Arrays.copyOf(seqLogitRow, n);
        }
        if (tokens + count > tokenIds.length) {
            int n = Math.max(tokens + count, tokenIds.length * 2);
            tokenIds = Arrays.copyOf(tokenIds, n);
            tokenSeq = Arrays.copyOf(tokenSeq, n);
            tokenPos = Arrays.copyOf(tokenPos, n);
        }
        seqStart[s] = tokens;
        seqCount[s] = count;
        seqContext[s] = context;
        seqSlot[s] = slot;
        if (seqBlocks[s] == null || seqBlocks[s].length < blockCount) {
            seqBlocks[s] = new int[Math.max(blockCount, 8)];
        }
        System.arraycopy(blocks, 0, seqBlocks[s], 0, blockCount);
        seqBlockCount[s] = blockCount;
        seqLogitRow[s] = wantLogits ? -2 : -1;
        for (int i = 0; i < count; i++) {
            tokenIds[tokens] = ids[from + i];
            tokenSeq[tokens] = s;
            tokenPos[tokens] = context + i;
            tokens++;
        }
        return s;
    }

    /** Assigns logit rows; called by the backend once the batch is complete. Returns the number of rows. */
    public int assignLogitRows() {
        logitRows = 0;
        for (int s = 0; s < sequences; s++) {
            if (allLogits) {
                seqLogitRow[s] = logitRows;
                logitRows += seqCount[s];
            } else if (seqLogitRow[s] != -1) {
                seqLogitRow[s] = logitRows++;
            }
        }
        return logitRows;
    }

    public int sequences() {
        return sequences;
    }

    public int tokens() {
        return tokens;
    }

    public int tokenId(int t) {
        return tokenIds[t];
    }

    public int tokenSequence(int t) {
        return tokenSeq[t];
    }

    public int tokenPosition(int t) {
        return tokenPos[t];
    }

    public int start(int s) {
        return seqStart[s];
    }

    public int count(int s) {
        return seqCount[s];
    }

    public int context(int s) {
        return seqContext[s];
    }

    public int slot(int s) {
        return seqSlot[s];
    }

    /** How many KV blocks sequence {@code s}'s table holds. */
    public int blockCount(int s) {
        return seqBlockCount[s];
    }

    public int block(int s, int i) {
        if (i >= seqBlockCount[s]) {
            throw new IllegalStateException(
                    "sequence " + s + " has " + seqBlockCount[s] + " KV blocks; position needs block " + i);
        }
        return seqBlocks[s][i];
    }

    /**
     * The first logits row of sequence {@code s} (its last token's, or its first token's with all
     * logits), or -1 when it asked for none.
     */
    public int logitRow(int s) {
        return seqLogitRow[s];
    }

    public int logitRows() {
        return logitRows;
    }
}

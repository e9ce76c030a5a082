package io.twinserve.engine.tokenizer;

import java.util.Arrays;

/**
 * Open-addressing map from a pair of token ids to the merge's rank and the merged token's id, so the
 * merge loop looks pairs up without boxing.
 */
final class PairTable {
    private static final long EMPTY = -1L;

    private final long[] keys;
    private final int[] ranks;
    private final int[] mergedIds;
    private final int mask;
    private int size;

    PairTable(int expectedPairs) {
        int capacity = Integer.highestOneBit(Math.max(16, expectedPairs * 2 - 1)) << 1;
        keys = new long[capacity];
        Arrays.fill(keys, EMPTY);
        ranks = new int[capacity];
        mergedIds = new int[capacity];
        mask = capacity - 1;
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private int slot(long key) {
        // Fibonacci hashing spreads the packed ids, whose low bits alone cluster.
        int slot = (int) ((key * 0x9E3779B97F4A7C15L) >>> 40) & mask;
        while (keys[slot] != EMPTY && keys[slot] != key) {
            slot = (slot + 1) & mask;
        }
        return slot;
    }

    /** Records a merge; a later merge of the same pair replaces an earlier one, as in Hugging Face's loader. */
    void put(int left, int right, int rank, int mergedId) {
        long key = key(left, right);
        int slot = slot(key);
        if (keys[slot] == EMPTY) {
            if (++size * 2 > keys.length) {
                throw new IllegalStateException("pair table over capacity");
            }
            keys[slot] = key;
        }
        ranks[slot] = rank;
        mergedIds[slot] = mergedId;
    }

    /** The merge's rank (lower merges first), or -1 when the pair does not merge. */
    int rank(int left, int right) {
        int slot = slot(key(left, right));
        return keys[slot] == EMPTY ? -1 : ranks[slot];
    }

    int mergedId(int left, int right) {
        int slot = slot(key(left, right));
        return keys[slot] == EMPTY ? -1 : mergedIds[slot];
    }

    int size() {
        return size;
    }
}

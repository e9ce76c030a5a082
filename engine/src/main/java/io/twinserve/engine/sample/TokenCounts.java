package io.twinserve.engine.sample;

import java.util.Arrays;

/**
 * How often each token occurred in one request's output so far, and whether it occurred in its prompt: what
 * the presence, frequency and repetition penalties read. An open-addressing map from token id to a dense
 * index, so a step visits only the distinct tokens seen (not the vocabulary) and a request holds memory in
 * proportion to them: an {@code int[vocab]} would cost 600 kB per request on a 150k vocabulary and a pass
 * over all of it every step. It grows by doubling, so filling it allocates O(log tokens) times per request
 * and never per token once it has room.
 */
final class TokenCounts {
    private static final int EMPTY = -1;
    /** Slot to dense index, {@link #EMPTY} when free; its length is a power of two, at most half full. */
    private int[] slots;

    private int[] ids;
    private int[] outputCounts;
    private boolean[] inPrompt;
    private int size;

    TokenCounts(int[] prompt, int expectedOutput) {
        int distinct = Math.max(16, prompt.length + Math.min(expectedOutput, 1024));
        int capacity = Integer.highestOneBit(distinct * 2 - 1) << 1;
        slots = new int[capacity];
        Arrays.fill(slots, EMPTY);
        ids = new int[capacity / 2];
        outputCounts = new int[capacity / 2];
        inPrompt = new boolean[capacity / 2];
        for (int id : prompt) {
            int index = indexOf(id);
            inPrompt[index] = true;
        }
    }

    /** Counts one more output occurrence of {@code id}. */
    void addOutput(int id) {
        // indexOf first: it may grow (replace) the arrays
        int index = indexOf(id);
        outputCounts[index]++;
    }

    int size() {
        return size;
    }

    int id(int index) {
        return ids[index];
    }

    int outputCount(int index) {
        return outputCounts[index];
    }

    boolean inPrompt(int index) {
        return inPrompt[index];
    }

    /** The dense index of {@code id}, added (with no occurrences) when new. */
    private int indexOf(int id) {
        int mask = slots.length - 1;
        // Fibonacci hashing spreads consecutive ids over the table
        int slot = (int) ((id * 0x9E3779B97F4A7C15L) >>> 32) & mask;
        while (true) {
            int index = slots[slot];
            if (index == EMPTY) {
                break;
            }
            if (ids[index] == id) {
                return index;
            }
            slot = (slot + 1) & mask;
        }
        if (size == ids.length) {
            grow();
            return indexOf(id);
        }
        ids[size] = id;
        slots[slot] = size;
        return size++;
    }

    private void grow() {
        int capacity = slots.length * 2;
        slots = new int[capacity];
        Arrays.fill(slots, EMPTY);
        ids = Arrays.copyOf(ids, capacity / 2);
        outputCounts = Arrays.copyOf(outputCounts, capacity / 2);
        inPrompt = Arrays.copyOf(inPrompt, capacity / 2);
        int mask = capacity - 1;
        for (int index = 0; index < size; index++) {
            int slot = (int) ((ids[index] * 0x9E3779B97F4A7C15L) >>> 32) & mask;
            while (slots[slot] != EMPTY) {
                slot = (slot + 1) & mask;
            }
            slots[slot] = index;
        }
    }
}

package io.twinserve.engine.tokenizer;

import java.util.Arrays;

/** Growable array of token ids, so encoding collects ids without boxing. */
final class IdBuffer {
    private int[] ids;
    private int size;

    IdBuffer(int initialCapacity) {
        ids = new int[Math.max(8, initialCapacity)];
    }

    void add(int id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = id;
    }

    void addAll(int[] more) {
        if (size + more.length > ids.length) {
            ids = Arrays.copyOf(ids, Math.max(size * 2, size + more.length));
        }
        System.arraycopy(more, 0, ids, size, more.length);
        size += more.length;
    }

    int size() {
        return size;
    }

    int[] toArray() {
        return Arrays.copyOf(ids, size);
    }
}

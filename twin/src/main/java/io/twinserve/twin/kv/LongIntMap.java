package io.twinserve.twin.kv;

/** Open-addressing long-to-int map for the hash index (no boxing); -1 means absent. */
final class LongIntMap {
    static final int NONE = -1;

    private long[] keys;
    private int[] values;
    private boolean[] used;
    private int size;
    private int tombstones;
    private boolean[] deleted;

    LongIntMap(int capacity) {
        int c = Integer.highestOneBit(Math.max(16, capacity * 2 - 1)) << 1;
        keys = new long[c];
        values = new int[c];
        used = new boolean[c];
        deleted = new boolean[c];
    }

    /** Keys held. */
    int size() {
        return size;
    }

    int get(long k) {
        int mask = keys.length - 1;
        for (int i = index(k, mask); ; i = (i + 1) & mask) {
            if (!used[i] && !deleted[i]) {
                return NONE;
            }
            if (used[i] && keys[i] == k) {
                return values[i];
            }
        }
    }

    void put(long k, int v) {
        if ((size + tombstones + 1) * 2 > keys.length) {
            rehash(size * 2 + 2 > keys.length / 2 ? keys.length * 2 : keys.length);
        }
        int mask = keys.length - 1;
        int firstFree = -1;
        for (int i = index(k, mask); ; i = (i + 1) & mask) {
            if (used[i]) {
                if (keys[i] == k) {
                    values[i] = v;
                    return;
                }
            } else {
                if (firstFree < 0) {
                    firstFree = i;
                }
                if (!deleted[i]) {
                    break;
                }
            }
        }
        if (deleted[firstFree]) {
            deleted[firstFree] = false;
            tombstones--;
        }
        used[firstFree] = true;
        keys[firstFree] = k;
        values[firstFree] = v;
        size++;
    }

    void remove(long k) {
        int mask = keys.length - 1;
        for (int i = index(k, mask); ; i = (i + 1) & mask) {
            if (!used[i] && !deleted[i]) {
                return;
            }
            if (used[i] && keys[i] == k) {
                used[i] = false;
                deleted[i] = true;
                size--;
                tombstones++;
                return;
            }
        }
    }

    private void rehash(int capacity) {
        long[] oldKeys = keys;
        int[] oldValues = values;
        boolean[] oldUsed = used;
        keys = new long[capacity];
        values = new int[capacity];
        used = new boolean[capacity];
        deleted = new boolean[capacity];
        size = 0;
        tombstones = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldUsed[i]) {
                put(oldKeys[i], oldValues[i]);
            }
        }
    }

    private static int index(long k, int mask) {
        long z = (k ^ (k >>> 33)) * 0xff51afd7ed558ccdL;
        return (int) (z ^ (z >>> 33)) & mask;
    }
}

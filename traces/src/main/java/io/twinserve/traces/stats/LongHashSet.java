package io.twinserve.traces.stats;

/**
 * An open-addressing set of longs, for prefix block hashes.
 *
 * <p>Hand-written because a {@code HashSet<Long>} boxes every hash and costs about 50 bytes per entry;
 * this costs 8-16. Zero is stored with a separate flag.
 */
final class LongHashSet {
    private long[] table = new long[1 << 12];
    private int size;
    private boolean hasZero;

    /** Adds v; returns whether it was already present. */
    boolean addAndCheck(long v) {
        if (v == 0) {
            boolean had = hasZero;
            hasZero = true;
            return had;
        }
        int mask = table.length - 1;
        int i = (int) mix(v) & mask;
        while (true) {
            long t = table[i];
            if (t == v) {
                return true;
            }
            if (t == 0) {
                table[i] = v;
                if (++size * 2 > table.length) {
                    grow();
                }
                return false;
            }
            i = (i + 1) & mask;
        }
    }

    boolean contains(long v) {
        if (v == 0) {
            return hasZero;
        }
        int mask = table.length - 1;
        int i = (int) mix(v) & mask;
        while (true) {
            long t = table[i];
            if (t == v) {
                return true;
            }
            if (t == 0) {
                return false;
            }
            i = (i + 1) & mask;
        }
    }

    int size() {
        return size + (hasZero ? 1 : 0);
    }

    private void grow() {
        long[] old = table;
        table = new long[old.length * 2];
        int mask = table.length - 1;
        for (long v : old) {
            if (v != 0) {
                int i = (int) mix(v) & mask;
                while (table[i] != 0) {
                    i = (i + 1) & mask;
                }
                table[i] = v;
            }
        }
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        return z ^ (z >>> 33);
    }
}

package io.twinserve.twin.metrics;

/**
 * An exact time integral of an integer quantity (requests waiting, sequences running, KV blocks in use):
 * Σ value × ns in 128-bit integer arithmetic, so that it does not depend on how the time is cut into
 * pieces. A loop may then add one piece per change of the value, or a run of steps at once, and get the
 * figures of adding every step (as long as the sum fits 53 bits, what a double sum of the pieces gave).
 */
public final class TimeIntegral {
    private long hi;
    private long lo;

    /** Adds {@code value × ns} (both non-negative). */
    public void add(long value, long ns) {
        long pLo = value * ns;
        long pHi = Math.multiplyHigh(value, ns);
        addParts(pHi, pLo);
    }

    /** Adds an integral kept elsewhere (an exact sum of value × ns pieces that fits a long). */
    public void addSum(long sum) {
        addParts(0, sum);
    }

    private void addParts(long pHi, long pLo) {
        long sum = lo + pLo;
        hi += pHi + (Long.compareUnsigned(sum, lo) < 0 ? 1 : 0);
        lo = sum;
    }

    /** The integral as a double (exact below 2^53). */
    public double value() {
        double low = lo >= 0 ? lo : (double) (lo >>> 1) * 2 + (lo & 1);
        return hi == 0 ? low : hi * 0x1p64 + low;
    }
}

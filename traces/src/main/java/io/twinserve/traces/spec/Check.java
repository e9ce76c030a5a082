package io.twinserve.traces.spec;

/** Validation helpers for spec records; each failure names the key and the allowed range. */
final class Check {
    private Check() {}

    static double positive(String key, Double v) {
        required(key, v);
        if (!(v > 0) || !Double.isFinite(v)) {
            throw new SpecException(key, "must be > 0, got " + fmt(v));
        }
        return v;
    }

    static double nonNegative(String key, Double v) {
        required(key, v);
        if (!(v >= 0) || !Double.isFinite(v)) {
            throw new SpecException(key, "must be >= 0, got " + fmt(v));
        }
        return v;
    }

    static long atLeast(String key, Long v, long min) {
        required(key, v);
        if (v < min) {
            throw new SpecException(key, "must be >= " + min + ", got " + v);
        }
        return v;
    }

    static int atLeast(String key, Integer v, int min) {
        required(key, v);
        if (v < min) {
            throw new SpecException(key, "must be >= " + min + ", got " + v);
        }
        return v;
    }

    static int atMost(String key, Integer v, int max) {
        required(key, v);
        if (v > max) {
            throw new SpecException(key, "must be <= " + max + ", got " + v);
        }
        return v;
    }

    static <T> T required(String key, T v) {
        if (v == null) {
            throw new SpecException(key, "is required");
        }
        return v;
    }

    static String fmt(Double v) {
        if (v == null) {
            return "nothing";
        }
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf(v.longValue()) : String.valueOf(v);
    }
}

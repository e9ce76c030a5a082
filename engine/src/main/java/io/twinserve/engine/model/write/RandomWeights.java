package io.twinserve.engine.model.write;

/**
 * Deterministic pseudo-random tensor values: element {@code i} of a tensor is a pure function of the seed,
 * the tensor's name and {@code i}, so a file of any size is written chunk by chunk and any thread or
 * process recomputes the same value. Values are uniform with the given standard deviation around a mean.
 */
final class RandomWeights implements SafeTensorsWriter.Values {
    private static final double SQRT3 = Math.sqrt(3.0);
    private final long stream;
    private final float mean;
    private final float halfWidth;

    RandomWeights(long seed, String tensorName, double mean, double std) {
        this.stream = mix(seed ^ mix(tensorName.hashCode() * 0x9E3779B97F4A7C15L + tensorName.length()));
        this.mean = (float) mean;
        this.halfWidth = (float) (std * SQRT3);
    }

    @Override
    public void fill(long offset, float[] chunk, int count) {
        for (int i = 0; i < count; i++) {
            long bits = mix(stream + (offset + i) * 0x9E3779B97F4A7C15L);
            // 24 random bits -> [-1, 1)
            float u = ((bits >>> 40) * 0x1.0p-23f) - 1f;
            chunk[i] = mean + halfWidth * u;
        }
    }

    /** SplitMix64's finaliser (Steele, Lea and Flood, 2014). */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}

package io.twinserve.twin.replica;

import io.twinserve.traces.Request;

/**
 * The keys of a sequence's KV blocks in the prefix cache: chained hashes, seeded by the adapter, since
 * K and V depend on the adapter's projections and the same tokens under two adapters are two different
 * blocks. The simulator keys blocks from a trace's prefix hashes, the live engine from the real tokens;
 * both chain from the same adapter seed.
 *
 * <p>From a trace: KV block j covers tokens [jB, (j+1)B); it has a key when every trace block it overlaps
 * has a hash. Its key chains the previous key, the overlapped trace hashes and its offset in the first of
 * them, so that equal keys mean equal prefixes. A trace's hashes describe the prompt; when there are more
 * of them than the prompt's blocks (a generated session's turns), the rest describe the answer that
 * follows it, which the next turn's prompt repeats, so blocks of generated tokens are cached too, as vLLM
 * caches them.
 */
public final class PrefixKeys {
    private static final long[] NONE = new long[0];

    private PrefixKeys() {}

    /** The first link of every chain under adapter {@code adapter} (-1: the base model). */
    public static long seed(int adapter) {
        return mix(0x243F6A8885A308D3L ^ (adapter + 2L));
    }

    /** Keys of a trace request's KV blocks of {@code blockSize} tokens under adapter {@code adapter}. */
    public static long[] of(Request r, int blockSize, int adapter) {
        long[] trace = r.prefixHashes();
        if (trace.length == 0) {
            return NONE;
        }
        int traceBlock = r.prefixBlockSize();
        long promptTraceBlocks = ((long) r.promptTokens() + traceBlock - 1) / traceBlock;
        long described =
                trace.length > promptTraceBlocks ? (long) r.promptTokens() + r.outputTokens() : r.promptTokens();
        long coveredTokens = Math.min((long) trace.length * traceBlock, described);
        int blocks = (int) (coveredTokens / blockSize);
        long[] out = new long[blocks];
        long h = seed(adapter);
        for (int j = 0; j < blocks; j++) {
            long start = (long) j * blockSize;
            long end = start + blockSize - 1;
            int t0 = (int) (start / traceBlock);
            int t1 = (int) (end / traceBlock);
            for (int t = t0; t <= t1; t++) {
                h = mix(h ^ trace[t]);
            }
            h = mix(h + (start - (long) t0 * traceBlock) + 1);
            out[j] = h;
        }
        return out;
    }

    /** Keys of the full blocks of real tokens under adapter {@code adapter} (the live engine's). */
    public static long[] ofTokens(int[] tokens, int blockSize, int adapter) {
        int full = tokens.length / blockSize;
        long[] out = new long[full];
        long h = seed(adapter);
        for (int b = 0; b < full; b++) {
            h = next(h, tokens, b * blockSize, blockSize);
            out[b] = h;
        }
        return out;
    }

    /**
     * The key of the block of real tokens {@code tokens[from, from + blockSize)} that follows a block keyed {@code
     * previous} ({@link #seed} for the first): {@link #ofTokens}'s chain, one block further (an answer's block).
     */
    public static long next(long previous, int[] tokens, int from, int blockSize) {
        long h = previous;
        for (int i = 0; i < blockSize; i++) {
            h = mix(h * 0x100000001B3L ^ (tokens[from + i] + 1L));
        }
        return h;
    }

    /** SplitMix64's finaliser (Steele, Lea and Flood, OOPSLA 2014). */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}

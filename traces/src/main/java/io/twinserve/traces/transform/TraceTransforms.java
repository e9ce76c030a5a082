package io.twinserve.traces.transform;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.gen.AdapterPicker;
import io.twinserve.traces.spec.WorkloadSpec;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Transformations applied while streaming a trace, in this order: window (in the source's seconds),
 * sampling, time scaling, length caps, adapter assignment.
 *
 * @param windowStartS keep requests arriving at or after this time, and shift them to start at 0
 * @param windowEndS keep requests arriving before this time (null: to the end)
 * @param sampleFraction keep each request with this probability (null: all)
 * @param timeScale multiply the arrival rate by this factor (arrival times are divided by it)
 * @param maxPrompt clip prompts (and their prefix hashes) to this many tokens
 * @param maxOutput clip outputs to this many tokens
 * @param adapters assign adapters as this workload's requests get them: its adapters section and, with
 *     rate tiers, the per-adapter rates (null: keep the trace's adapters)
 * @param seed seed for sampling and adapter assignment
 */
public record TraceTransforms(
        Double windowStartS,
        Double windowEndS,
        Double sampleFraction,
        Double timeScale,
        Integer maxPrompt,
        Integer maxOutput,
        WorkloadSpec adapters,
        long seed) {

    public TraceTransforms {
        if (windowStartS != null && !(windowStartS >= 0)) {
            throw new IllegalArgumentException("window start must be >= 0 s, got " + windowStartS);
        }
        if (windowEndS != null && !(windowEndS > (windowStartS == null ? 0 : windowStartS))) {
            throw new IllegalArgumentException("window end must be after its start, got " + windowEndS);
        }
        if (sampleFraction != null && !(sampleFraction > 0 && sampleFraction <= 1)) {
            throw new IllegalArgumentException("sample fraction must be in (0, 1], got " + sampleFraction);
        }
        if (timeScale != null && !(timeScale > 0 && Double.isFinite(timeScale))) {
            throw new IllegalArgumentException("time scale must be > 0, got " + timeScale);
        }
        if (maxPrompt != null && maxPrompt < 1) {
            throw new IllegalArgumentException("max prompt must be >= 1, got " + maxPrompt);
        }
        if (maxOutput != null && maxOutput < 1) {
            throw new IllegalArgumentException("max output must be >= 1, got " + maxOutput);
        }
    }

    public static TraceTransforms none() {
        return new TraceTransforms(null, null, null, null, null, null, null, 0);
    }

    public boolean isIdentity() {
        return windowStartS == null
                && windowEndS == null
                && sampleFraction == null
                && timeScale == null
                && maxPrompt == null
                && maxOutput == null
                && adapters == null;
    }

    public TraceReader apply(TraceReader source) {
        return isIdentity() ? source : new Transformed(source, this);
    }

    private static final class Transformed implements TraceReader {
        private final TraceReader source;
        private final long startNs;
        private final long endNs;
        private final double keep;
        private final double scale;
        private final int maxPrompt;
        private final int maxOutput;
        private final SplittableRandom sampleRng;
        private final AdapterPicker adapters;
        private final Map<String, String> sessionAdapters = new HashMap<>();
        private boolean done;

        Transformed(TraceReader source, TraceTransforms t) {
            this.source = source;
            this.startNs = t.windowStartS == null ? 0 : (long) (t.windowStartS * 1e9);
            this.endNs = t.windowEndS == null ? Long.MAX_VALUE : (long) (t.windowEndS * 1e9);
            this.keep = t.sampleFraction == null ? 1 : t.sampleFraction;
            this.scale = t.timeScale == null ? 1 : t.timeScale;
            this.maxPrompt = t.maxPrompt == null ? Integer.MAX_VALUE : t.maxPrompt;
            this.maxOutput = t.maxOutput == null ? Integer.MAX_VALUE : t.maxOutput;
            SplittableRandom root = new SplittableRandom(t.seed);
            this.sampleRng = root.split();
            this.adapters = t.adapters == null ? null : AdapterPicker.forWorkload(t.adapters, root.split());
        }

        @Override
        public Request next() throws IOException {
            while (!done) {
                Request r = source.next();
                if (r == null || r.arrivalNs() >= endNs) {
                    done = true;
                    return null;
                }
                if (r.arrivalNs() < startNs) {
                    continue;
                }
                if (keep < 1 && sampleRng.nextDouble() >= keep) {
                    continue;
                }
                long t = r.arrivalNs() - startNs;
                if (scale != 1) {
                    t = (long) (t / scale);
                }
                if (t != r.arrivalNs()) {
                    r = r.withArrivalNs(t);
                }
                if (r.promptTokens() > maxPrompt || r.outputTokens() > maxOutput) {
                    r = cap(r);
                }
                if (adapters != null) {
                    r = r.withAdapterId(assign(r));
                }
                return r;
            }
            return null;
        }

        private Request cap(Request r) {
            int p = Math.min(r.promptTokens(), maxPrompt);
            int o = Math.min(r.outputTokens(), maxOutput);
            long[] h = r.prefixHashes();
            if (h.length > 0) {
                int blocks = (p + r.prefixBlockSize() - 1) / r.prefixBlockSize();
                h = Arrays.copyOf(h, Math.min(h.length, blocks));
            }
            return new Request(
                    r.id(), r.arrivalNs(), r.sessionId(), r.turnIndex(), r.adapterId(), p, o, r.prefixBlockSize(), h);
        }

        /** Every turn of a session gets the adapter its first turn drew. */
        private String assign(Request r) {
            if (r.sessionId() != null) {
                String known = sessionAdapters.get(r.sessionId());
                if (known != null || sessionAdapters.containsKey(r.sessionId())) {
                    return known;
                }
                String drawn = adapters.pick();
                sessionAdapters.put(r.sessionId(), drawn);
                return drawn;
            }
            return adapters.pick();
        }

        @Override
        public long skippedLines() {
            return source.skippedLines();
        }

        @Override
        public List<String> skippedExamples() {
            return source.skippedExamples();
        }

        @Override
        public long droppedRecords() {
            return source.droppedRecords();
        }

        @Override
        public void close() throws IOException {
            source.close();
        }
    }
}

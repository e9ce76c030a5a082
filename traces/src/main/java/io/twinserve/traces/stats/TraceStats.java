package io.twinserve.traces.stats;

import io.twinserve.traces.Request;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Accumulates {@link TraceSummary} statistics over a stream of requests in one pass. */
public final class TraceStats {
    private final IntHistogram prompt = new IntHistogram();
    private final IntHistogram output = new IntHistogram();
    private final Map<String, long[]> perAdapter = new HashMap<>();
    private final Set<String> sessions = new HashSet<>();
    private final LongHashSet seenBlocks = new LongHashSet();
    private long count;
    private long firstNs;
    private long lastNs;
    private long baseRequests;
    private long sessionRequests;
    // Welford's online mean and variance of inter-arrival gaps (Knuth, TAOCP vol. 2, 4.2.2)
    private long gaps;
    private double gapMean;
    private double gapM2;
    private int blockSize;
    private long blocks;
    private long reusedBlocks;

    public void add(Request r) {
        if (count == 0) {
            firstNs = r.arrivalNs();
        } else {
            double gap = (r.arrivalNs() - lastNs) / 1e9;
            gaps++;
            double delta = gap - gapMean;
            gapMean += delta / gaps;
            gapM2 += delta * (gap - gapMean);
        }
        lastNs = r.arrivalNs();
        count++;
        prompt.add(r.promptTokens());
        output.add(r.outputTokens());
        if (r.adapterId() == null) {
            baseRequests++;
        } else {
            perAdapter.computeIfAbsent(r.adapterId(), k -> new long[1])[0]++;
        }
        if (r.sessionId() != null) {
            sessions.add(r.sessionId());
            sessionRequests++;
        }
        long[] hashes = r.prefixHashes();
        if (hashes.length > 0) {
            blockSize = r.prefixBlockSize();
            boolean prefixContinues = true;
            // the prompt's blocks only: hashes past them describe the answer
            int promptBlocks = (int) Math.min(hashes.length, ((long) r.promptTokens() + blockSize - 1) / blockSize);
            for (int i = 0; i < promptBlocks; i++) {
                boolean seen = seenBlocks.addAndCheck(hashes[i]);
                prefixContinues &= seen;
                if (prefixContinues) {
                    reusedBlocks++;
                }
            }
            blocks += promptBlocks;
        }
    }

    public long count() {
        return count;
    }

    public TraceSummary summary(String source, long skippedLines, long droppedRecords) {
        double span = count == 0 ? 0 : (lastNs - firstNs) / 1e9;
        double rate = span > 0 ? (count - 1) / span : Double.NaN;
        double cv = gaps > 1 && gapMean > 0 ? Math.sqrt(gapM2 / (gaps - 1)) / gapMean : Double.NaN;
        List<TraceSummary.AdapterShare> shares = new ArrayList<>();
        for (Map.Entry<String, long[]> e : perAdapter.entrySet()) {
            shares.add(new TraceSummary.AdapterShare(e.getKey(), e.getValue()[0], (double) e.getValue()[0] / count));
        }
        shares.sort((a, b) -> a.requests() != b.requests()
                ? Long.compare(b.requests(), a.requests())
                : a.adapter().compareTo(b.adapter()));
        return new TraceSummary(
                source,
                count,
                span,
                rate,
                cv,
                lengths(prompt),
                lengths(output),
                baseRequests,
                List.copyOf(shares),
                sessions.size(),
                sessions.isEmpty() ? Double.NaN : (double) sessionRequests / sessions.size(),
                blockSize,
                blocks,
                blocks == 0 ? Double.NaN : (double) reusedBlocks / blocks,
                skippedLines,
                droppedRecords);
    }

    private static TraceSummary.Lengths lengths(IntHistogram h) {
        return new TraceSummary.Lengths(h.mean(), h.percentile(0.5), h.percentile(0.9), h.percentile(0.99), h.max());
    }
}

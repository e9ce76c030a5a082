package io.twinserve.api.cli;

import io.twinserve.traces.stats.TraceSummary;
import java.util.Locale;

/** Renders a {@link TraceSummary} as the readable table {@code trace stats} prints. */
final class SummaryText {
    private SummaryText() {}

    static String render(TraceSummary s, int topAdapters) {
        StringBuilder b = new StringBuilder();
        row(b, "trace", s.source());
        row(b, "requests", f("%,d", s.requests()));
        row(b, "span", f("%,.1f s", s.spanS()));
        row(b, "mean rate", Double.isNaN(s.meanRatePerS()) ? "-" : f("%,.3f req/s", s.meanRatePerS()));
        row(b, "inter-arrival CV", Double.isNaN(s.interarrivalCv()) ? "-" : f("%.3f", s.interarrivalCv()));
        b.append(f("%-18s %10s %8s %8s %8s %8s%n", "", "mean", "p50", "p90", "p99", "max"));
        lengths(b, "prompt tokens", s.prompt());
        lengths(b, "output tokens", s.output());
        if (s.adapters().isEmpty()) {
            row(b, "adapters", "none (all requests use the base model)");
        } else {
            row(
                    b,
                    "adapters",
                    f(
                            "%,d used, base model %.1f%% of requests",
                            s.adapters().size(), 100.0 * s.baseRequests() / Math.max(1, s.requests())));
            int shown = Math.min(topAdapters, s.adapters().size());
            for (int i = 0; i < shown; i++) {
                TraceSummary.AdapterShare a = s.adapters().get(i);
                row(b, "", f("%-24s %,10d  %6.2f%%", a.adapter(), a.requests(), 100 * a.share()));
            }
            if (shown < s.adapters().size()) {
                row(b, "", f("... %,d more (--top to show more)", s.adapters().size() - shown));
            }
        }
        row(
                b,
                "sessions",
                s.sessions() == 0 ? "none" : f("%,d (mean %.2f turns)", s.sessions(), s.meanTurnsPerSession()));
        row(
                b,
                "prefix reuse",
                s.prefixBlocks() == 0
                        ? "no prefix hashes"
                        : f(
                                "%.1f%% of %,d blocks of %d tokens continue a cached prefix",
                                100 * s.prefixReuseRatio(), s.prefixBlocks(), s.prefixBlockSize()));
        if (s.skippedLines() > 0) {
            row(b, "skipped lines", f("%,d malformed (--skip-bad)", s.skippedLines()));
        }
        if (s.droppedRecords() > 0) {
            row(
                    b,
                    "dropped",
                    f("%,d failed requests (0 response tokens; --keep-failed keeps them)", s.droppedRecords()));
        }
        return b.toString();
    }

    private static void lengths(StringBuilder b, String label, TraceSummary.Lengths l) {
        b.append(f("%-18s %10.1f %8d %8d %8d %8d%n", label, l.mean(), l.p50(), l.p90(), l.p99(), l.max()));
    }

    private static void row(StringBuilder b, String label, String value) {
        b.append(f("%-18s %s%n", label, value));
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}

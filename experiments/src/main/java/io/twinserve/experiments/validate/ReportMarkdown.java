package io.twinserve.experiments.validate;

import java.util.Locale;

/** Renders a {@link TwinVsLiveReport} as markdown: the comparison first, then how it was obtained. */
final class ReportMarkdown {
    private ReportMarkdown() {}

    static String render(TwinVsLiveReport r) {
        StringBuilder b = new StringBuilder();
        line(b, "# Twin against live: %s on %s", r.model(), r.hardware());
        b.append('\n');
        line(
                b,
                "The twin simulated the workload with the engine profile's `profiled` performance model; the live loop"
                        + " replayed it on the wall clock on the CPU backend. Both ran the settings below. The error is"
                        + " (twin - live) / live.");
        b.append('\n');
        line(b, "| figure | twin (predicted) | live (measured) | error |");
        line(b, "| --- | ---: | ---: | ---: |");
        for (TwinVsLiveReport.Metric m : r.comparison()) {
            line(
                    b,
                    "| %s (%s) | %.3f | %.3f | %+.1f%% |",
                    m.name(),
                    m.unit(),
                    m.predicted(),
                    m.measured(),
                    100 * m.signedRelativeError());
        }
        TwinVsLiveReport.StepModelCheck s = r.stepModel();
        b.append('\n');
        line(
                b,
                "The twin's step model on the live loop's own %d steps (each step's shape priced as the twin prices it,"
                        + " against its measured time less adapter loads): %.3f s predicted, %.3f s measured, %+.1f%%. Adapter"
                        + " loads inside those steps took %.3f s.",
                s.steps(),
                s.predictedS(),
                s.measuredS(),
                100 * s.signedRelativeError(),
                s.adapterLoadS());
        b.append('\n');
        line(
                b,
                "| live steps (each in `%s`) | steps | twin-priced (s) | measured (s) | error |",
                TwinVsLiveReport.STEPS);
        line(b, "| --- | ---: | ---: | ---: | ---: |");
        for (TwinVsLiveReport.StepGroup g : s.groups()) {
            line(
                    b,
                    "| %s | %d | %.3f | %.3f | %s |",
                    g.kind(),
                    g.steps(),
                    g.predictedS(),
                    g.measuredS(),
                    g.steps() == 0 ? "" : String.format(Locale.ROOT, "%+.1f%%", 100 * g.signedRelativeError()));
        }
        b.append('\n');
        line(b, "## Each side");
        b.append('\n');
        line(b, "| | twin | live |");
        line(b, "| --- | ---: | ---: |");
        var t = r.twin();
        var l = r.live();
        line(b, "| requests | %d | %d |", t.requests(), l.requests());
        line(b, "| prompt tokens | %d | %d |", t.promptTokens(), l.promptTokens());
        line(b, "| output tokens | %d | %d |", t.outputTokens(), l.outputTokens());
        line(b, "| makespan (s) | %.3f | %.3f |", t.makespanS(), l.makespanS());
        line(b, "| output tokens/s | %.3f | %.3f |", t.outputTokensPerS(), l.outputTokensPerS());
        line(
                b,
                "| mean / p50 TTFT (ms) | %.1f / %.1f | %.1f / %.1f |",
                t.meanTtftMs(),
                t.p50TtftMs(),
                l.meanTtftMs(),
                l.p50TtftMs());
        line(b, "| mean latency (ms) | %.1f | %.1f |", t.meanLatencyMs(), l.meanLatencyMs());
        line(b, "| steps | %d | %d |", t.steps(), l.steps());
        line(b, "| preemptions | %d | %d |", t.preemptions(), l.preemptions());
        line(
                b,
                "| adapter slot loads, time (s) | %d, %.3f | %d, %.3f |",
                t.adapterLoads(),
                t.adapterLoadS(),
                l.adapterLoads(),
                l.adapterLoadS());
        b.append('\n');
        line(b, "## Settings of both sides");
        b.append('\n');
        ServingSettings c = r.settings();
        line(
                b,
                "max_num_seqs %d, max_num_batched_tokens %d, kv_cache_len %d, block_size %d, max_adapters %d,"
                        + " max_cpu_adapters %d, max_adapter_rank %d (twin), max_model_len %d, chunked_prefill %s, prefix_caching %s,"
                        + " adapter loads synchronous, tp %d, %d threads.",
                c.maxNumSeqs(),
                c.maxNumBatchedTokens(),
                c.kvCacheTokens(),
                c.blockSize(),
                c.adapterSlots(),
                c.maxCpuAdapters(),
                c.maxAdapterRank(),
                c.maxModelLen(),
                c.chunkedPrefill(),
                c.prefixCaching(),
                c.tensorParallel(),
                c.threads());
        b.append('\n');
        line(b, "- model: `%s`", r.modelDir());
        line(b, "- profile: `%s` (deployment `%s`, calibration `%s`)", r.profileDir(), r.deployment(), r.calibration());
        var w = r.workload();
        line(
                b,
                "- workload: %s: %d requests, %d prompt and %d output tokens, arrivals over %.1f s; %d warm-up requests"
                        + " first",
                w.source(),
                w.requests(),
                w.promptTokens(),
                w.outputTokens(),
                w.arrivalSpanS(),
                w.warmupRequests());
        for (TwinVsLiveReport.AdapterUse a : w.adapters()) {
            line(b, "- adapter `%s`: rank %d, %d requests (`%s`)", a.name(), a.rank(), a.requests(), a.dir());
        }
        if (!r.notes().isEmpty()) {
            b.append('\n');
            line(b, "## Notes");
            b.append('\n');
            for (String n : r.notes()) {
                line(b, "- %s", n);
            }
        }
        b.append('\n');
        line(b, "## Provenance");
        b.append('\n');
        r.provenance().forEach((k, v) -> line(b, "- %s: %s", k, v));
        return b.toString();
    }

    private static void line(StringBuilder b, String format, Object... args) {
        b.append(String.format(Locale.ROOT, format, args)).append('\n');
    }
}

package io.twinserve.api.cli;

import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.metrics.ClientSummary;
import io.twinserve.twin.metrics.Latency;
import io.twinserve.twin.metrics.RunSummary;
import io.twinserve.twin.slo.SloVerdict;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Renders what-if results as the readable tables {@code twinserve what-if} prints. */
final class WhatIfText {
    private WhatIfText() {}

    /** One configuration of a sweep: its settings and its summary, or why it did not run. */
    record SweepRow(Map<String, String> settings, RunSummary summary, SloVerdict verdict, String error) {}

    static String render(String workload, ResolvedReplica r, RunSummary s, SloVerdict verdict) {
        StringBuilder b = new StringBuilder();
        var spec = r.spec().replica();
        row(b, "workload", workload);
        row(
                b,
                "deployment",
                f(
                        "%s: %s on %s, tp %d, %d adapter slots at rank %d, max_num_seqs %d, %s",
                        r.spec().name(),
                        r.model().name(),
                        r.gpu().name(),
                        spec.tp(),
                        spec.maxAdapters(),
                        spec.maxAdapterRank(),
                        spec.maxNumSeqs(),
                        r.calibration() == null
                                ? "uncalibrated roofline"
                                : "calibration " + r.calibration().name()));
        RunSummary.Memory m = s.memory();
        row(
                b,
                "memory per GPU",
                f(
                        "budget %.2f GiB = weights %.2f + adapter slots %.2f + activations %.2f + KV cache"
                                + " %.2f GiB (%,d tokens)",
                        m.budgetGib(),
                        m.weightsGib(),
                        m.adapterSlotsGib(),
                        m.activationsGib(),
                        m.kvCacheGib(),
                        m.kvCacheTokens()));
        row(b, "window", f("%,.1f s, %,d steps", s.windowS(), s.steps()));
        row(
                b,
                "requests",
                f(
                                "%,d arrived, %,d finished, %,d unfinished, %,d rejected",
                                s.requestsArrived(), s.requestsFinished(), s.requestsUnfinished(), s.requestsRejected())
                        + (s.requestsRejected() == 0
                                ? ""
                                : f(
                                        " (longer than max_model_len %,d or than the KV cache's %,d tokens hold)",
                                        r.scheduler().maxModelLen(), m.kvCacheTokens())));
        row(b, "offered load", throughput(s.offered()));
        row(
                b,
                "throughput",
                throughput(s.achieved())
                        + f(
                                "  (%.1f%% of offered)",
                                100
                                        * s.achieved().totalTokensPerS()
                                        / Math.max(1e-9, s.offered().totalTokensPerS())));
        row(b, "SLO", verdict.line());
        row(
                b,
                "starving",
                (s.starving() ? "YES: throughput more than 10% below the offered load" : "no")
                        + " (the study's test: served within 10% of offered; the SLO above is the stricter judge)");
        row(
                b,
                "starved requests",
                f("%,d waited more than %.0f s to be scheduled", s.starvedRequests(), s.starvationBoundS()));
        b.append(f("%-18s %10s %10s %10s %10s %10s%n", "latency (ms)", "mean", "p50", "p90", "p99", "max"));
        latency(b, "  TTFT", s.ttft());
        if (s.ttftFromIntended() != null) {
            latency(b, "  TTFT (intended)", s.ttftFromIntended());
        }
        latency(b, "  inter-token", s.itl());
        latency(b, "  end-to-end", s.e2e());
        latency(b, "  queue wait", s.queueWait());
        row(
                b,
                "KV cache",
                f(
                        "hit rate %.1f%%, mean use %.1f%%, %,d preemptions",
                        100 * s.kvHitRate(), 100 * s.meanKvUsage(), s.preemptions()));
        row(
                b,
                "adapter loads",
                f(
                        "%,d (%,d from storage), %.2f s loading",
                        s.adapterLoads(), s.adapterStorageLoads(), s.adapterLoadTimeS()));
        row(
                b,
                "queue",
                f("mean %.1f waiting (max %,d), mean %.1f running", s.meanWaiting(), s.maxWaiting(), s.meanRunning()));
        if (s.client() != null) {
            client(b, s.client());
        }
        List<RunSummary.Sample> t = s.timeline();
        if (t.size() >= 2) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < 6; i++) {
                RunSummary.Sample p = t.get(Math.min(t.size() - 1, i * (t.size() - 1) / 5));
                line.append(i == 0 ? "" : "  ").append(f("%.0fs: %,d/%d", p.timeS(), p.waiting(), p.running()));
            }
            row(b, "waiting/running", line.toString());
        }
        return b.toString();
    }

    static String renderSweep(List<SweepRow> rows, int best) {
        StringBuilder b = new StringBuilder();
        List<String> keys =
                rows.isEmpty() ? List.of() : List.copyOf(rows.get(0).settings().keySet());
        for (String k : keys) {
            b.append(f("%-" + Math.max(10, k.length()) + "s ", k));
        }
        b.append(f(
                "%12s %14s %14s %9s %10s %10s %10s  %s%n",
                "kv tokens", "offered tok/s", "achieved tok/s", "starving", "TTFT p90", "TTFT p99", "ITL p99", "SLO"));
        for (int i = 0; i < rows.size(); i++) {
            SweepRow r = rows.get(i);
            for (String k : keys) {
                b.append(f("%-" + Math.max(10, k.length()) + "s ", r.settings().get(k)));
            }
            if (r.summary() == null) {
                b.append("does not fit: ").append(r.error()).append('\n');
                continue;
            }
            RunSummary s = r.summary();
            boolean meets = r.verdict().met();
            b.append(f(
                    "%,12d %,14.1f %,14.1f %9s %10.1f %10.1f %10.1f  %s%n",
                    s.memory().kvCacheTokens(),
                    s.offered().totalTokensPerS(),
                    s.achieved().totalTokensPerS(),
                    s.starving() ? "STARVING" : "no",
                    s.ttft().p90Ms(),
                    s.ttft().p99Ms(),
                    s.itl().p99Ms(),
                    r.verdict().brief() + (i == best ? (meets ? "  <- best" : "  <- closest") : "")));
        }
        if (best < 0) {
            b.append(f("%nno configuration fits%n"));
        } else if (rows.get(best).verdict().met()) {
            b.append(f(
                    "%nbest: %s (the first with the highest throughput, within 1%%, among those that meet the SLO: %s)%n",
                    rows.get(best).settings(), rows.get(best).verdict().slo().describe()));
        } else {
            b.append(f(
                    "%nNO CONFIGURATION MEETS THE SLO (%s)%nclosest: %s, which %s%n",
                    rows.get(best).verdict().slo().describe(),
                    rows.get(best).settings(),
                    rows.get(best).verdict().line()));
        }
        return b.toString();
    }

    private static String throughput(RunSummary.Throughput t) {
        return f(
                "%,.1f tokens/s (%,.1f in + %,.1f out), %,.3f requests/s",
                t.totalTokensPerS(), t.inputTokensPerS(), t.outputTokensPerS(), t.requestsPerS());
    }

    static void latency(StringBuilder b, String label, Latency l) {
        if (l.count() == 0) {
            b.append(f("%-18s %10s%n", label, "-"));
            return;
        }
        b.append(f(
                "%-18s %10.1f %10.1f %10.1f %10.1f %10.1f%n",
                label, l.meanMs(), l.p50Ms(), l.p90Ms(), l.p99Ms(), l.maxMs()));
    }

    /** What the benchmark client did: its kind, and how many requests waited at it and for how long. */
    static void client(StringBuilder b, ClientSummary c) {
        String kind = c.users() == null ? "open loop" : f("closed loop, %,d users", c.users());
        String cap = c.maxOutstanding() == null ? "" : f(", at most %,d outstanding", c.maxOutstanding());
        row(b, "client", f("%s%s: %,d sent, peak %,d outstanding", kind, cap, c.sent(), c.peakOutstanding()));
        Latency w = c.clientWait();
        row(
                b,
                "client queue",
                f(
                        "%,d waited at the client (wait mean %,.1f ms, max %,.1f ms), peak %,d waiting, %,d"
                                + " never sent",
                        c.waited(),
                        w.count() == 0 ? 0 : w.meanMs(),
                        w.count() == 0 ? 0 : w.maxMs(),
                        c.peakQueue(),
                        c.unsent()));
    }

    static void row(StringBuilder b, String label, String value) {
        b.append(f("%-18s %s%n", label, value));
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}

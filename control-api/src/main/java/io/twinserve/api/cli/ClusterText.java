package io.twinserve.api.cli;

import io.twinserve.twin.cluster.ClusterSummary;
import io.twinserve.twin.slo.SloVerdict;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Renders cluster what-if results as the tables {@code twinserve what-if --cluster} prints. */
final class ClusterText {
    private ClusterText() {}

    /** One configuration of a cluster sweep: its settings and summary, or why it did not run. */
    record SweepRow(
            Map<String, String> settings, ClusterSummary summary, Map<String, SloVerdict> verdicts, String error) {}

    static String render(List<String> workloads, ClusterSummary s, Map<String, SloVerdict> verdicts) {
        StringBuilder b = new StringBuilder();
        WhatIfText.row(
                b,
                "cluster",
                f(
                        "%s, window %,.1f s, workload%s %s",
                        s.name(), s.windowS(), workloads.size() == 1 ? "" : "s", String.join(", ", workloads)));
        for (ClusterSummary.DeploymentSummary d : s.deployments()) {
            b.append('\n');
            WhatIfText.row(
                    b,
                    "deployment",
                    f("%s: %s, router %s, max_ttft_ms %,.0f", d.name(), d.model(), d.router(), d.maxTtftMs()));
            ClusterSummary.Replicas r = d.replicas();
            WhatIfText.row(
                    b,
                    "replicas",
                    f(
                            "%d at start, %d-%d held (mean %.2f), %d scale-ups (%d refused for capacity), %d"
                                    + " scale-downs%s",
                            r.initial(),
                            r.min(),
                            r.max(),
                            r.mean(),
                            r.scaleUps(),
                            r.scaleUpsRefused(),
                            r.scaleDowns(),
                            r.scaleUps() == 0 ? "" : f(", cold start %.1f s", r.coldStartS())));
            WhatIfText.row(
                    b,
                    "requests",
                    f(
                            "%,d arrived, %,d finished, %,d timed out (408, %.2f%%), %,d rejected, %,d unfinished",
                            d.requestsArrived(),
                            d.requestsFinished(),
                            d.requestsTimedOut(),
                            100 * d.timedOutFraction(),
                            d.requestsRejected(),
                            d.requestsUnfinished()));
            WhatIfText.row(
                    b,
                    "offered load",
                    f(
                            "%,.1f tokens/s, %,.3f requests/s",
                            d.offered().totalTokensPerS(), d.offered().requestsPerS()));
            WhatIfText.row(
                    b,
                    "throughput",
                    f(
                            "%,.1f tokens/s, %,.3f requests/s (%.1f%% of offered)",
                            d.achieved().totalTokensPerS(),
                            d.achieved().requestsPerS(),
                            100
                                    * d.achieved().totalTokensPerS()
                                    / Math.max(1e-9, d.offered().totalTokensPerS())));
            WhatIfText.row(b, "SLO", verdicts.get(d.name()).line());
            WhatIfText.row(
                    b,
                    "starving",
                    d.starving()
                            ? "YES: throughput more than 10% below the offered load"
                            : d.starvedRequests() > 0 ? f("no, but %,d requests starved", d.starvedRequests()) : "no");
            b.append(f("%-18s %10s %10s %10s %10s %10s%n", "latency (ms)", "mean", "p50", "p90", "p99", "max"));
            WhatIfText.latency(b, "  TTFT", d.ttft());
            if (d.ttftFromIntended() != null) {
                WhatIfText.latency(b, "  TTFT (intended)", d.ttftFromIntended());
            }
            WhatIfText.latency(b, "  inter-token", d.itl());
            WhatIfText.latency(b, "  end-to-end", d.e2e());
            WhatIfText.latency(b, "  queue wait", d.queueWait());
            WhatIfText.row(
                    b,
                    "KV cache",
                    f(
                            "hit rate %.1f%%, mean use %.1f%%, %,d preemptions",
                            100 * d.kvHitRate(), 100 * d.meanKvUsage(), d.preemptions()));
            WhatIfText.row(b, "adapter loads", f("%,d (%,d from storage)", d.adapterLoads(), d.adapterStorageLoads()));
            WhatIfText.row(
                    b,
                    "cost",
                    f(
                            "%,.2f GPU-hours, %,.2f%s",
                            d.gpuHours(),
                            d.cost(),
                            d.costPerMillionTokens() == null
                                    ? ""
                                    : f(", %.4f per million tokens", d.costPerMillionTokens())));
            b.append(f(
                    "  %-4s %-12s %4s %-16s %3s %9s %9s %9s %8s %7s%n",
                    "id", "pool", "node", "gpu", "tp", "routed", "kv hit", "loads", "busy", "ready s"));
            for (ClusterSummary.ReplicaSummary x : d.replicaDetails()) {
                b.append(f(
                        "  %-4d %-12s %4d %-16s %3d %,9d %8.1f%% %,9d %7.1f%% %7.1f%s%n",
                        x.id(),
                        x.pool(),
                        x.node(),
                        x.gpu(),
                        x.tp(),
                        x.requestsRouted(),
                        100 * x.kvHitRate(),
                        x.adapterLoads(),
                        100 * x.busyFraction(),
                        x.readyS(),
                        x.stoppedS() >= 0 ? f("  stopped at %.1f s", x.stoppedS()) : ""));
            }
        }
        if (s.clients() != null) {
            b.append('\n');
            for (ClusterSummary.TrafficClient c : s.clients()) {
                WhatIfText.row(b, "traffic " + c.traffic(), "to " + c.deployment());
                WhatIfText.client(b, c.client());
            }
        }
        b.append('\n');
        for (ClusterSummary.PoolSummary p : s.pools()) {
            WhatIfText.row(
                    b,
                    "pool " + p.name(),
                    f(
                            "%s, %d GPUs, peak %d held, %,.2f GPU-hours x %.2f = %,.2f",
                            p.gpu(), p.gpus(), p.peakGpusHeld(), p.gpuHours(), p.costPerGpuHour(), p.cost()));
        }
        WhatIfText.row(
                b,
                "total cost",
                f(
                        "%,.2f for %,.2f GPU-hours%s",
                        s.cost(),
                        s.gpuHours(),
                        s.costPerMillionTokens() == null
                                ? ""
                                : f(", %.4f per million tokens", s.costPerMillionTokens())));
        return b.toString();
    }

    static String renderSweep(List<SweepRow> rows) {
        StringBuilder b = new StringBuilder();
        List<String> keys =
                rows.isEmpty() ? List.of() : List.copyOf(rows.get(0).settings().keySet());
        for (String k : keys) {
            b.append(f("%-" + Math.max(12, k.length()) + "s ", k));
        }
        b.append(f(
                "%-14s %12s %12s %8s %9s %9s %9s %8s %10s  %s%n",
                "deployment",
                "offered r/s",
                "achieved r/s",
                "408 %",
                "TTFT p50",
                "TTFT p90",
                "ITL p99",
                "kv hit",
                "cost",
                "SLO"));
        for (SweepRow r : rows) {
            if (r.summary() == null) {
                for (String k : keys) {
                    b.append(f(
                            "%-" + Math.max(12, k.length()) + "s ", r.settings().get(k)));
                }
                b.append("cannot run: ").append(r.error()).append('\n');
                continue;
            }
            for (ClusterSummary.DeploymentSummary d : r.summary().deployments()) {
                for (String k : keys) {
                    b.append(f(
                            "%-" + Math.max(12, k.length()) + "s ", r.settings().get(k)));
                }
                SloVerdict v = r.verdicts().get(d.name());
                b.append(f(
                        "%-14s %12.3f %12.3f %7.2f%% %9.1f %9.1f %9.1f %7.1f%% %10.2f  %s%n",
                        d.name(),
                        d.offered().requestsPerS(),
                        d.achieved().requestsPerS(),
                        100 * d.timedOutFraction(),
                        d.ttft().p50Ms(),
                        d.ttft().p90Ms(),
                        d.itl().p99Ms(),
                        100 * d.kvHitRate(),
                        d.cost(),
                        v.brief()));
            }
        }
        return b.toString();
    }

    static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}

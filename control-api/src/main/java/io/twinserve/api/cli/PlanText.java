package io.twinserve.api.cli;

import io.twinserve.experiments.whatif.PlanOutcome;
import io.twinserve.placement.PlacementModel;
import io.twinserve.placement.PlanSearch;
import io.twinserve.placement.PlanTwin;
import io.twinserve.placement.Planner;
import io.twinserve.placement.SweepRow;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The text {@code twinserve plan} prints: the plan, the trees' rules, the warnings, the verification and its searches. */
final class PlanText {
    private PlanText() {}

    /** The text {@code twinserve plan} prints for a plan and, when it was verified, its twin check and searches. */
    static String render(PlanOutcome o) {
        String name = o.workload();
        PlacementModel model = o.model();
        Planner.Request r = o.request();
        Planner.Plan p = o.plan();
        List<String> notes = o.notes();
        PlanTwin.Verification v = o.verification();
        List<PlanSearch.Alternative> search = o.search();
        PlanSearch.Alternative corrected = o.corrected();
        List<PlanSearch.Alternative> searchUp = o.searchUp();
        PlanSearch.Alternative improved = o.improved();
        PlanOutcome.SearchEnd searchEnded = o.searchEnded();
        String deployment = o.deployment();
        StringBuilder b = new StringBuilder();
        b.append(f(
                "plan for %s: %d adapters, per-adapter rates %s / %s / %s req/s (tiers%s), ranks %s, prompt %.1f /"
                        + " output %.1f tokens, arrival CV %.2f%n",
                name,
                r.adapters(),
                g(r.rates()[0]),
                g(r.rates()[1]),
                g(r.rates()[2]),
                r.skew() > 0 ? f(", skew %.2f within them", r.skew()) : "",
                Arrays.toString(r.ranks()),
                r.promptMean(),
                r.outputMean(),
                r.cv()));
        b.append(f(
                "placement model: %s (dataset %s)%n",
                model.source(), model.meta().dataset().get("spec_name")));
        if (deployment != null) {
            b.append(f(
                    "deployment: %s (its model and GPU; %s)%n",
                    deployment,
                    v != null
                            ? "the twin's runs use its replica settings and performance model"
                            : "--verify runs the twin with its replica settings and performance model"));
        }
        b.append(f("%n"));
        b.append(f("recommended configuration for %s%n", p.model()));
        b.append(f(
                "  served adapters per GPU  %d  (optimum for this workload: %d; %d replica%s for %d adapters%s)%n",
                p.servedPerGpu(),
                p.predictedServedMax(),
                p.replicas(),
                p.replicas() == 1 ? "" : "s",
                p.adapters(),
                p.tp() == 1 ? "" : f("; at tp %d a replica's %d GPUs serve them together", p.tp(), p.tp())));
        b.append(f("  max_adapters (slots)     %d%n", p.maxAdapters()));
        b.append(f("  tp                       %d%n", p.tp()));
        b.append(f(
                "  kv_cache_len             %s%n",
                p.kvCacheLen() == 0 ? "from memory (gpu_memory_utilization)" : p.kvCacheLen()));
        b.append(f("  pool                     %s%n", p.pool()));
        b.append(f(
                "  predicted throughput     %,.0f tokens/s per replica (offered %,.0f)%n",
                p.throughputTps(), p.offeredTps()));
        b.append(f(
                "  SLO                      %s (%s)%n%n",
                p.predictedMeetsSlo() ? "predicted to meet" : "PREDICTED TO MISS",
                model.slo().describe()));
        b.append("why (the trees' paths):\n");
        for (Map.Entry<String, List<String>> e : p.rules().entrySet()) {
            b.append("  ").append(e.getKey()).append(":\n");
            for (String line : e.getValue()) {
                b.append("    ")
                        .append(line.startsWith("=>") ? "" : "- ")
                        .append(line)
                        .append('\n');
            }
        }
        if (!p.warnings().isEmpty() || !notes.isEmpty()) {
            b.append("\nwarnings:\n");
            for (String w : p.warnings()) {
                b.append("  - ").append(w).append('\n');
            }
            for (String w : notes) {
                b.append("  - ").append(w).append('\n');
            }
        }
        if (v != null) {
            SweepRow s = v.simulated();
            b.append(f(
                    "%nverification: one replica of the plan in the twin (%d adapters, %d slots, %.0f s window)%n",
                    s.served(), s.slots(), s.stoppedAtS() > 0 ? s.stoppedAtS() : 3600.0));
            if (!s.fits()) {
                b.append(f("  the configuration does not start: %s%n", s.note()));
                b.append(f("%n!!! NOT CONFIRMED: the plan's configuration does not start in the twin%n"));
                appendSearch(b, p, search, corrected, searchEnded);
                appendSearchUp(b, p, searchUp, improved);
                appendOtherTps(b, p, o);
                appendAnswer(b, o);
                return b.toString();
            }
            b.append(f("  %-22s %14s %14s%n", "", "predicted", "simulated"));
            b.append(f(
                    "  %-22s %,14.0f %,14.0f  (the load the run's arrivals offered)%n",
                    "offered tokens/s", v.predictedOfferedTps(), s.offeredTps()));
            b.append(f(
                    "  %-22s %,14.0f %,14.0f  (%+.2f%%%s)%n",
                    "throughput tokens/s",
                    v.predictedThroughputTps(),
                    s.throughputTps(),
                    v.errorPct(),
                    v.sharesCompared() ? " as a share of the offered load" : ""));
            b.append(f(
                    "  %-22s %14s %14s%n",
                    "SLO",
                    v.predictedMeetsSlo() ? "meets" : "misses",
                    v.verdict().met() ? "meets" : "misses"));
            b.append(f("  %-22s %14s %,14.1f%n", "TTFT p90 ms", "-", s.ttftP90Ms()));
            b.append(f("  %-22s %14s %,14.1f%n", "TTFT p99 ms", "-", s.ttftP99Ms()));
            b.append(f("  %-22s %14s %,14.1f%n", "ITL p99 ms", "-", s.itlP99Ms()));
            b.append(f("  SLO: %s%n", v.verdict().line()));
            if (v.confirmed()) {
                b.append(f(
                        "%nconfirmed: the twin meets the SLO and agrees with the predicted throughput%s within %.1f%% (the"
                                + " model's held-out error)%n",
                        v.sharesCompared() ? " (as a share of the offered load)" : "", v.toleratedErrorPct()));
            } else {
                List<String> why = new ArrayList<>();
                if (!v.verdict().met()) {
                    why.add("the twin's run misses the SLO");
                }
                if (!(Math.abs(v.errorPct()) <= v.toleratedErrorPct())) {
                    why.add(f(
                            "the %s differs from the prediction by %+.2f%%, beyond the model's held-out error of %.1f%%",
                            v.sharesCompared() ? "share of the offered load served" : "throughput",
                            v.errorPct(),
                            v.toleratedErrorPct()));
                }
                b.append(f("%n!!! NOT CONFIRMED: %s%n", String.join("; ", why)));
                appendSearch(b, p, search, corrected, searchEnded);
            }
            appendSearchUp(b, p, searchUp, improved);
            appendOtherTps(b, p, o);
            appendAnswer(b, o);
        }
        return b.toString();
    }

    private static void appendSearch(
            StringBuilder b,
            Planner.Plan p,
            List<PlanSearch.Alternative> search,
            PlanSearch.Alternative corrected,
            PlanOutcome.SearchEnd searchEnded) {
        if (!search.isEmpty()) {
            b.append(f("%ntwin search around the plan (%d run%s):%n", search.size(), search.size() == 1 ? "" : "s"));
            alternatives(b, search);
        }
        if (corrected != null) {
            b.append(f("%ncorrected configuration: %s, meets the SLO%n", configuration(p, corrected)));
        } else if (searchEnded == PlanOutcome.SearchEnd.ONE_ADAPTER
                && !search.isEmpty()
                && !search.getLast().simulated().fits()) {
            b.append(f("%nno configuration of the search both starts and meets the SLO, down to one adapter per GPU:"
                    + " the last ones tried do not start (above)%n"));
        } else if (searchEnded == PlanOutcome.SearchEnd.ONE_ADAPTER) {
            b.append(f("%nno configuration meets the SLO, not even one adapter per GPU: the bounds missed above are"
                    + " beyond what one GPU gives a single adapter's requests; what is left is spreading each"
                    + " adapter's requests over several replicas (twinserve capacity) or a looser SLO%n"));
        } else if (!search.isEmpty()) {
            b.append(f(
                    "%nno configuration of the search meets the SLO within its budget of %d runs (--search-budget:"
                            + " a larger one goes on to fewer adapters per GPU)%n",
                    search.size()));
        }
    }

    private static void appendSearchUp(
            StringBuilder b, Planner.Plan p, List<PlanSearch.Alternative> searchUp, PlanSearch.Alternative improved) {
        if (searchUp.isEmpty()) {
            return;
        }
        b.append(f(
                "%ntwin search for more adapters per GPU (%d run%s):%n",
                searchUp.size(), searchUp.size() == 1 ? "" : "s"));
        alternatives(b, searchUp);
        if (improved != null) {
            int replicas = (p.adapters() + improved.servedPerGpu() - 1) / improved.servedPerGpu();
            b.append(f(
                    "%nbetter configuration: %s, meets the SLO with %d more adapter%s per GPU than the plan%s%n",
                    configuration(p, improved),
                    improved.servedPerGpu() - p.servedPerGpu(),
                    improved.servedPerGpu() - p.servedPerGpu() == 1 ? "" : "s",
                    replicas < p.replicas()
                            ? f(
                                    " and %d fewer replica%s",
                                    p.replicas() - replicas, p.replicas() - replicas == 1 ? "" : "s")
                            : f(
                                    " (the same %d replica%s for %d adapters: headroom per GPU, not fewer GPUs)",
                                    replicas, replicas == 1 ? "" : "s", p.adapters())));
        } else {
            b.append(f(
                    "%nno configuration with more adapters per GPU meets the SLO in the search: the plan's count is the"
                            + " most the twin confirms%n"));
        }
    }

    private static void appendOtherTps(StringBuilder b, Planner.Plan p, PlanOutcome o) {
        for (PlanSearch.AtTp at : o.otherTps()) {
            Planner.Plan q = at.plan();
            b.append(f(
                    "%ntwin search at tp %d, from the trees' plan there (%d adapters, %d slots; %d run%s):%n",
                    at.tp(), q.servedPerGpu(), q.maxAdapters(), at.runs(), at.runs() == 1 ? "" : "s"));
            List<PlanSearch.Alternative> tried = new ArrayList<>();
            if (at.run() != null) {
                tried.add(new PlanSearch.Alternative(
                        q.servedPerGpu(), q.maxAdapters(), at.run(), at.run().verdict(o.slo())));
            }
            tried.addAll(at.around().down());
            tried.addAll(at.around().up());
            alternatives(b, tried);
        }
        PlanSearch.Alternative better = o.betterTp();
        PlanSearch.Alternative atPlanTp = o.atPlanTp();
        String others = o.otherTps().stream()
                .map(a -> String.valueOf(a.tp()))
                .collect(java.util.stream.Collectors.joining(", "));
        if (better != null) {
            int tp = better.simulated().tp();
            b.append(f(
                    "%nbetter configuration at tp %d: %s, meets the SLO with %.3g adapters per GPU (a replica's over its"
                            + " tp), %s%n",
                    tp,
                    configuration(
                            o.otherTps().stream()
                                    .filter(a -> a.tp() == tp)
                                    .map(PlanSearch.AtTp::plan)
                                    .findFirst()
                                    .orElse(p),
                            better),
                    (double) better.servedPerGpu() / tp,
                    atPlanTp == null
                            ? f("where nothing at tp %d met the SLO", p.tp())
                            : f("against %.3g at tp %d", (double) atPlanTp.servedPerGpu() / p.tp(), p.tp())));
        } else if (!o.otherTps().isEmpty()) {
            b.append(
                    atPlanTp == null
                            ? f("%nno configuration at tp %s met the SLO either%n", others)
                            : f(
                                    "%nno configuration at tp %s serves more adapters per GPU than the answer at tp %d%n",
                                    others, p.tp()));
        }
    }

    /** The configuration to deploy when the twin's searches changed the plan's (what autoconfigure applies). */
    private static void appendAnswer(StringBuilder b, PlanOutcome o) {
        if (o.answerSource() == PlanOutcome.AnswerSource.PLAN || o.answerSource() == PlanOutcome.AnswerSource.NONE) {
            return;
        }
        Planner.Plan a = o.answer();
        b.append(f(
                "%nto deploy: %s, which meets the SLO (the %s, not the trees' plan)%n",
                configuration(a, a.throughputTps()),
                switch (o.answerSource()) {
                    case CORRECTED -> "corrected configuration";
                    case IMPROVED -> "better configuration";
                    case BETTER_TP -> "better configuration at tp " + a.tp();
                    case PLAN, NONE -> "plan";
                }));
    }

    private static String g(double v) {
        return String.format(Locale.ROOT, "%.4g", v);
    }

    private static String f(String fmt, Object... args) {
        return String.format(Locale.ROOT, fmt, args);
    }

    private static void alternatives(StringBuilder b, List<PlanSearch.Alternative> tried) {
        b.append(f(
                "  %8s %6s %14s %12s %12s  %s%n", "adapters", "slots", "tokens/s", "TTFT p90 ms", "ITL p99 ms", "SLO"));
        for (PlanSearch.Alternative a : tried) {
            SweepRow x = a.simulated();
            b.append(
                    x.fits()
                            ? f(
                                    "  %8d %6d %,14.0f %,12.1f %,12.1f  %s%n",
                                    a.servedPerGpu(),
                                    a.maxAdapters(),
                                    x.throughputTps(),
                                    x.ttftP90Ms(),
                                    x.itlP99Ms(),
                                    a.verdict().brief())
                            : f("  %8d %6d  does not fit: %s%n", a.servedPerGpu(), a.maxAdapters(), x.note()));
        }
    }

    /** {@code p} (a plan at its tp) with a searched configuration, and the twin's tokens/s for it. */
    private static String configuration(Planner.Plan p, PlanSearch.Alternative a) {
        return configuration(PlanSearch.withConfiguration(p, a), a.simulated().throughputTps());
    }

    private static String configuration(Planner.Plan c, double tokensPerS) {
        return f(
                "%d adapter%s per %s (%d replica%s for %d), max_adapters %d, tp %d, %s, pool %s: %,.0f tokens/s in the twin",
                c.servedPerGpu(),
                c.servedPerGpu() == 1 ? "" : "s",
                c.tp() == 1 ? "GPU" : "replica of " + c.tp() + " GPUs",
                c.replicas(),
                c.replicas() == 1 ? "" : "s",
                c.adapters(),
                c.maxAdapters(),
                c.tp(),
                c.kvCacheLen() == 0 ? "KV from memory" : "kv_cache_len " + c.kvCacheLen(),
                c.pool(),
                tokensPerS);
    }
}

package io.twinserve.api.cli;

import io.twinserve.placement.ClusterPlan;
import io.twinserve.placement.Labels;
import io.twinserve.placement.PlacementModel;
import io.twinserve.placement.Planner;
import io.twinserve.placement.WorkloadRequests;
import io.twinserve.traces.format.ReadOptions;
import io.twinserve.traces.format.TraceReaders;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.capacity.CapacitySearch;
import io.twinserve.twin.capacity.CapacitySpec;
import io.twinserve.twin.cluster.ClusterTraffic;
import io.twinserve.twin.profile.Profiles;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** {@code plan --capacity SPEC}: the placement model's answer to a capacity question, and its twin check. */
final class PlanCapacity {
    private PlanCapacity() {}

    static int run(
            PrintWriter out,
            Path file,
            PlacementModel model,
            Profiles profiles,
            boolean verify,
            boolean strict,
            int budget,
            boolean json)
            throws Exception {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such capacity spec");
        }
        CapacitySpec cs = WorkloadSpecs.parse(WorkloadSpecs.readText(file), file, CapacitySpec.class);
        Path base = file.toAbsolutePath().getParent();
        Path workload = base.resolve(cs.workload());
        if (!Files.isRegularFile(workload)) {
            throw new NoSuchFileException(
                    workload.toString(),
                    null,
                    "the capacity spec's workload (" + file + ": workload)" + " does not exist");
        }
        Labels.Objective objective = Labels.Objective.COST;
        Planner.Request req = ClusterTraffic.isYaml(workload)
                ? WorkloadRequests.of(WorkloadSpecs.load(workload), workload.getParent(), cs.model(), null, objective)
                : WorkloadRequests.ofTrace(
                                TraceReaders.open(workload, ReadOptions.defaults()),
                                workload,
                                cs.adapterRank() == null ? 16 : cs.adapterRank(),
                                cs.model(),
                                null,
                                objective)
                        .request();
        Planner planner = new Planner(model);
        ClusterPlan.Answer answer = ClusterPlan.plan(planner, cs, req);
        ClusterPlan.Verification v = null;
        if (verify && answer.best() != null) {
            v = ClusterPlan.verify(answer, new CapacitySearch(cs, base, profiles), cs, Math.max(1, budget));
        }
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("capacity_spec", file.toString());
            doc.put("placement_model", model.source());
            doc.put("answer", answer);
            doc.put("verification", v);
            out.println(Json.write(doc));
        } else {
            out.print(render(file, cs, model, answer, v));
        }
        return strict && v != null && !v.planAgrees() ? 3 : 0;
    }

    static String render(
            Path file, CapacitySpec cs, PlacementModel model, ClusterPlan.Answer a, ClusterPlan.Verification v) {
        StringBuilder b = new StringBuilder();
        Planner.Request r = a.request();
        b.append(f(
                "capacity plan for %s: %s, %d adapters at %.3gx its rate (tiers %s / %s / %s req/s per adapter)%n",
                file, cs.workload(), r.adapters(), a.targetScale(), g(r.rates()[0]), g(r.rates()[1]), g(r.rates()[2])));
        b.append(f(
                "placement model: %s; replicas read as each serving a share of the adapters (adapter affinity)%n%n",
                model.source()));
        b.append(f(
                "  %-12s %-16s %12s %6s %3s %9s %10s%n",
                "pool", "gpu", "adapters/GPU", "slots", "tp", "replicas", "cost/h"));
        for (ClusterPlan.PoolPlan p : a.pools()) {
            if (p.plan() == null) {
                b.append(f(
                        "  %-12s %-16s %12s %6s %3s %9s %10s  %s%n",
                        p.pool(), p.gpu(), "-", "-", "-", "-", "-", p.note()));
            } else {
                b.append(f(
                        "  %-12s %-16s %12d %6d %3d %9d %10.2f%s%n",
                        p.pool(),
                        p.gpu(),
                        p.plan().servedPerGpu(),
                        p.plan().maxAdapters(),
                        p.plan().tp(),
                        p.replicas(),
                        p.costPerHour(),
                        p.note() == null ? "" : "  " + p.note()));
            }
        }
        ClusterPlan.PoolPlan best = a.best();
        if (best == null) {
            b.append(f(
                    "%nno pool of the search has a plan: the model knows none of their GPUs; run twinserve capacity %s%n",
                    file));
            return b.toString();
        }
        b.append(f(
                "%nplan: pool %s, %d replica%s of %d adapters on %d slots, tp %d: %.2f per hour%s%n",
                best.pool(),
                best.replicas(),
                best.replicas() == 1 ? "" : "s",
                best.plan().servedPerGpu(),
                best.plan().maxAdapters(),
                best.plan().tp(),
                best.costPerHour(),
                best.plan().predictedMeetsSlo() ? "" : " (its slo tree predicts a miss)"));
        for (String w : best.plan().warnings()) {
            b.append("  warning: ").append(w).append('\n');
        }
        if (v == null) {
            return b.toString();
        }
        b.append(f(
                "%nverification: the twin at %.3gx the workload's rate, router %s, as capacity search probes a"
                        + " candidate%n",
                a.targetScale(), v.router()));
        b.append(f(
                "  %8s %10s %14s %10s %12s  %s%n",
                "replicas", "cost/h", "offered req/s", "tokens/s", "TTFT p90 ms", "SLO"));
        for (ClusterPlan.Probe p : v.probes()) {
            b.append(f(
                    "  %8d %10.2f %14.2f %10.0f %12.1f  %s%n",
                    p.replicas(),
                    p.costPerHour(),
                    p.offeredRps(),
                    p.throughputTps(),
                    p.ttftP90Ms(),
                    p.meets() ? "meets" : "misses " + String.join(", ", p.missed())));
        }
        if (v.fewestReplicas() == null) {
            b.append(f(
                    "%n!!! no replica count tried meets the SLO at the target rate; widen --search-budget or run twinserve"
                            + " capacity %s%n",
                    file));
        } else if (v.planAgrees()) {
            b.append(f(
                    "%nconfirmed: %d replicas are the fewest that meet the SLO at the target rate, as planned%n",
                    v.fewestReplicas()));
        } else {
            b.append(f(
                    "%n!!! NOT CONFIRMED: the fewest replicas that meet the SLO at the target rate are %d, not the planned"
                            + " %d; corrected: %d replicas, %.2f per hour%n",
                    v.fewestReplicas(), best.replicas(), v.fewestReplicas(), best.costPerHour(v.fewestReplicas())));
        }
        return b.toString();
    }

    private static String g(double v) {
        return String.format(Locale.ROOT, "%.4g", v);
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}

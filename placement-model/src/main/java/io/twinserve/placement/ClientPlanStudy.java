package io.twinserve.placement;

import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Plans drawn workloads whose client answers to the server (closed-loop users, or a cap on outstanding
 * requests) and compares each plan's predicted throughput with the twin's run of the workload itself:
 * planned at the rate the client sustains ({@link ClientLoad}) and, as the baseline, at the open-loop rate
 * its arrival process gives. Half are closed loops (8 to 256 users thinking 0.5 to 10 s on average), half
 * capped Poisson clients (5 to 40 requests/s, 16 to 256 outstanding); 8 to 128 Zipf adapters of ranks 8, 16
 * and 32, log-normal prompts of mean 100 to 2,000 and outputs of 30 to 450 tokens.
 */
public final class ClientPlanStudy {
    private ClientPlanStudy() {}

    /** One workload: its description and the two plans' errors against the twin (NaN where a run did not start). */
    public record Case(
            int index,
            boolean closedLoop,
            int adapters,
            double promptMean,
            double outputMean,
            String client,
            double scale,
            double responseS,
            int served,
            int slots,
            double errorPct,
            boolean confirmed,
            boolean meetsSlo,
            double openLoopErrorPct) {}

    /** Every case, and the summary figures over those whose plan started. */
    public record Result(
            List<Case> cases,
            double meanAbsErrorPct,
            double medianAbsErrorPct,
            double p90AbsErrorPct,
            double maxAbsErrorPct,
            double withinThreePct,
            double confirmedPct,
            double openLoopMeanAbsErrorPct,
            double openLoopMedianAbsErrorPct) {}

    private static final int[] ADAPTERS = {8, 16, 32, 64, 128};
    private static final int[] USERS = {8, 16, 32, 64, 128, 256};
    private static final double[] THINK = {0.5, 1, 2, 5, 10};
    private static final int[] CAPS = {16, 32, 64, 128, 256};
    private static final double[] RATES = {5, 10, 20, 40};

    /** The workload spec of case {@code i} of the draws seeded {@code seed}. */
    static String spec(int i, SplittableRandom rnd) {
        boolean closed = i % 2 == 0;
        int adapters = ADAPTERS[rnd.nextInt(ADAPTERS.length)];
        double p = Math.exp(Math.log(100) + rnd.nextDouble() * Math.log(20));
        double o = Math.exp(Math.log(30) + rnd.nextDouble() * Math.log(15));
        String client;
        String arrivals;
        String size;
        if (closed) {
            client = String.format(
                    Locale.ROOT,
                    "client: {users: %d, think_time_s: {type: exponential, mean: %s}}",
                    USERS[rnd.nextInt(USERS.length)],
                    THINK[rnd.nextInt(THINK.length)]);
            arrivals = "arrivals: {type: poisson, rate: 10}";
            size = "requests: 4000";
        } else {
            client = "client: {max_outstanding: " + CAPS[rnd.nextInt(CAPS.length)] + "}";
            arrivals = "arrivals: {type: poisson, rate: " + RATES[rnd.nextInt(RATES.length)] + "}";
            size = "duration_s: 600";
        }
        return String.format(Locale.ROOT, """
        name: client-%d
        seed: %d
        %s
        %s
        adapters: {count: %d, ranks: [8, 16, 32], popularity: {type: zipf, exponent: 1.0}}
        %s
        lengths:
          prompt: {type: lognormal, mean: %.0f, std: %.0f}
          output: {type: lognormal, mean: %.0f, std: %.0f}
          max_total: 8192
        """, i, i + 1, size, arrivals, adapters, client, p, 0.8 * p, o, 0.8 * o);
    }

    /** Plans and verifies {@code n} drawn workloads on {@code model} (one twin run per plan and per baseline). */
    public static Result run(Planner planner, String model, Profiles profiles, int n, long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            WorkloadSpec spec = WorkloadSpecs.parse(spec(i, rnd), Path.of("client-" + i + ".yaml"));
            Planner.Request r = WorkloadRequests.of(spec, Path.of("."), model, null, Labels.Objective.COST);
            ClientLoad.Client client = ClientLoad.Client.of(spec.client(), Path.of("."));
            ClientLoad.Adjusted a = ClientLoad.plan(planner, r, client, profiles);
            PlanTwin.Verification v =
                    planner.twin().verify(a.plan(), a.request(), profiles, Path.of("."), SloSpec.DEFAULTS);
            Planner.Plan open = planner.plan(r);
            PlanTwin.Verification vo = planner.twin().verify(open, r, profiles, Path.of("."), SloSpec.DEFAULTS);
            cases.add(new Case(
                    i,
                    client.closedLoop(),
                    r.adapters(),
                    r.promptMean(),
                    r.outputMean(),
                    client.describe(),
                    a.estimate().scale(),
                    a.estimate().responseS(),
                    a.plan().servedPerGpu(),
                    a.plan().maxAdapters(),
                    v.simulated().fits() ? v.errorPct() : Double.NaN,
                    v.confirmed(),
                    v.simulated().fits() && v.verdict().met(),
                    vo.simulated().fits() ? vo.errorPct() : Double.NaN));
        }
        double[] e = cases.stream()
                .mapToDouble(c -> Math.abs(c.errorPct()))
                .filter(Double::isFinite)
                .sorted()
                .toArray();
        double[] o = cases.stream()
                .mapToDouble(c -> Math.abs(c.openLoopErrorPct()))
                .filter(Double::isFinite)
                .sorted()
                .toArray();
        long within = Arrays.stream(e).filter(x -> x <= 3).count();
        long confirmed = cases.stream().filter(Case::confirmed).count();
        return new Result(
                cases,
                Trainer.round(mean(e)),
                Trainer.round(quantile(e, 0.5)),
                Trainer.round(quantile(e, 0.9)),
                Trainer.round(e.length == 0 ? Double.NaN : e[e.length - 1]),
                Trainer.round(100.0 * within / Math.max(1, e.length)),
                Trainer.round(100.0 * confirmed / Math.max(1, cases.size())),
                Trainer.round(mean(o)),
                Trainer.round(quantile(o, 0.5)));
    }

    private static double mean(double[] v) {
        return v.length == 0 ? Double.NaN : Arrays.stream(v).average().orElseThrow();
    }

    private static double quantile(double[] sorted, double q) {
        return sorted.length == 0 ? Double.NaN : sorted[Math.min(sorted.length - 1, (int) (q * sorted.length))];
    }
}

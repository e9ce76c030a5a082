package io.twinserve.placement;

import io.twinserve.traces.spec.AdaptersSpec;
import io.twinserve.traces.spec.ArrivalsSpec;
import io.twinserve.traces.spec.ClientSpec;
import io.twinserve.traces.spec.PopularitySpec;
import io.twinserve.traces.spec.WorkloadSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One replica's share of a workload spec: what {@code plan --verify} and its searches run, so that they
 * check a plan on the user's own workload (its arrivals, popularity, sessions, client) rather than on the
 * description the trees read.
 */
final class ReplicaShares {
    private ReplicaShares() {}

    /**
     * The workload one replica serving {@code served} of a spec's adapters sees over {@code windowS} seconds:
     * the spec itself (for the window) when it covers them all; else the adapters of a stratified sample of
     * them, busiest first ({@link Planner#replicaShare}: one adapter per each of {@code served} equal slices, at the
     * slice's mean rate, with the rank of its middle adapter), and the arrivals, sessions and client cap scaled to
     * the share of the traffic they carry. Sessions, lengths, burstiness and the SLO stay the spec's.
     *
     * @param baseDir the spec's folder (where an empirical think time's file is looked up)
     * @param rates each adapter's request rate, in the spec's adapter order
     * @param ranks each adapter's rank, in the same order
     */
    static WorkloadSpec of(WorkloadSpec spec, Path baseDir, double[] rates, int[] ranks, int served, double windowS) {
        int n = rates.length;
        if (served >= n) {
            return new WorkloadSpec(
                    spec.name(),
                    spec.description(),
                    spec.seed(),
                    windowS,
                    null,
                    scaled(
                            spec.arrivals(),
                            Double.NaN,
                            1,
                            supply(
                                    spec.client(),
                                    baseDir,
                                    spec.client() == null
                                            ? 0
                                            : nullToZero(spec.client().users()),
                                    rateOf(spec.arrivals(), n))),
                    spec.adapters(),
                    spec.lengths(),
                    spec.sessions(),
                    spec.client(),
                    spec.slo());
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(rates[b], rates[a]));
        List<Double> weights = new ArrayList<>(served);
        List<Integer> shareRanks = new ArrayList<>(served);
        double all = Arrays.stream(rates).sum();
        double mine = 0;
        int[] from = Planner.replicaSlices(n, served);
        for (int i = 0; i < served; i++) {
            // one adapter per slice at the slice's mean rate, with the rank of the slice's middle adapter
            double sum = 0;
            for (int j = from[i]; j < from[i + 1]; j++) {
                sum += rates[order[j]];
            }
            double rate = sum / (from[i + 1] - from[i]);
            weights.add(rate);
            shareRanks.add(ranks[order[(from[i] + from[i + 1]) / 2]]);
            mine += rate;
        }
        double f = mine / all;
        AdaptersSpec a = spec.adapters();
        AdaptersSpec adapters = new AdaptersSpec(
                served, shareRanks, null, new PopularitySpec.Weights(weights), a.baseShare(), a.idPrefix());
        ClientSpec c = spec.client();
        ClientSpec client = c == null
                ? null
                : new ClientSpec(
                        c.maxOutstanding() == null ? null : Math.max(1, (int) Math.ceil(c.maxOutstanding() * f)),
                        c.users() == null ? null : Math.max(1, (int) Math.round(c.users() * f)),
                        c.thinkTimeS());
        double total = spec.arrivals() instanceof ArrivalsSpec.Poisson p && p.rate() == null && p.rateTiers() == null
                ? all
                : rateOf(spec.arrivals(), n);
        ArrivalsSpec arrivals = scaled(
                spec.arrivals(),
                total,
                f,
                supply(client, baseDir, client == null ? 0 : nullToZero(client.users()), total * f));
        return new WorkloadSpec(
                spec.name() == null ? null : spec.name() + "-replica-share",
                spec.description(),
                spec.seed(),
                windowS,
                null,
                arrivals,
                adapters,
                spec.lengths(),
                spec.sessions(),
                client,
                spec.slo());
    }

    /**
     * How much faster the arrivals of a replica's share must come so that its closed-loop users never run out
     * of requests over the window: the arrivals bound how many requests there are, and users faster than them
     * would otherwise send the last one early and idle for the rest of the window, which the verification
     * would read as a throughput below what they sustain. The most the users can send is {@code users} over
     * their mean think time; 1 for other clients (and for think times whose mean is not known).
     */
    private static double supply(ClientSpec c, Path baseDir, int users, double rate) {
        if (c == null || c.users() == null || !(rate > 0)) {
            return 1;
        }
        double think = ClientLoad.Client.of(c, baseDir).thinkMeanS();
        return Math.max(1, users / Math.max(think, 1e-3) / rate);
    }

    private static int nullToZero(Integer v) {
        return v == null ? 0 : v;
    }

    /** The requests/s of a spec's arrivals over {@code n} adapters (NaN for a trace's). */
    private static double rateOf(ArrivalsSpec arrivals, int n) {
        return switch (arrivals) {
            case ArrivalsSpec.Poisson p ->
                p.rate() != null ? p.rate() : p.rateTiers() == null ? Double.NaN : totalOfTiers(p.rateTiers(), n);
            case ArrivalsSpec.Gamma g -> g.rate();
            case ArrivalsSpec.Constant c -> c.rate();
            case ArrivalsSpec.Trace t -> Double.NaN;
        };
    }

    /**
     * The spec's arrivals at {@code share} of their rate, {@code faster} times that (a trace: its time scale);
     * {@code total}: a Poisson process's requests/s, as one rate (NaN with {@code share} 1: the spec's own form,
     * its tiers scaled when it has them).
     */
    private static ArrivalsSpec scaled(ArrivalsSpec arrivals, double total, double share, double faster) {
        double k = share * faster;
        return switch (arrivals) {
            case ArrivalsSpec.Poisson p
            when Double.isNaN(total) ->
                k == 1
                        ? p
                        : new ArrivalsSpec.Poisson(
                                p.rate() == null ? null : p.rate() * k,
                                p.rateTiers() == null
                                        ? null
                                        : p.rateTiers().stream().map(x -> x * k).toList());
            case ArrivalsSpec.Poisson p -> new ArrivalsSpec.Poisson(total * k, null);
            case ArrivalsSpec.Gamma g -> new ArrivalsSpec.Gamma(g.rate() * k, g.cv());
            case ArrivalsSpec.Constant c -> new ArrivalsSpec.Constant(c.rate() * k);
            case ArrivalsSpec.Trace t ->
                share == 1
                        ? t
                        : new ArrivalsSpec.Trace(
                                t.file(), t.format(), (t.timeScale() == null ? 1 : t.timeScale()) * share);
        };
    }

    /** The total rate of per-adapter tier rates over {@code n} adapters in contiguous, about equal blocks. */
    private static double totalOfTiers(List<Double> tiers, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += tiers.get((int) ((long) i * tiers.size() / n));
        }
        return sum;
    }
}

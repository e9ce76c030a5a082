package io.twinserve.placement;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.gen.Adapter;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.ArrivalsSpec;
import io.twinserve.traces.spec.DistributionSpec;
import io.twinserve.traces.spec.LengthsSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Describes a workload spec the way the placement models see workloads: its adapters' per-adapter
 * rates sorted and cut into three contiguous thirds (each tier's rate is its third's mean, so totals
 * are kept), a rank triple, the mean lengths and the arrival burstiness.
 */
public final class WorkloadRequests {
    private WorkloadRequests() {}

    public static Planner.Request of(
            WorkloadSpec spec, Path baseDir, String model, List<String> pools, Labels.Objective objective) {
        List<Adapter> adapters;
        try (WorkloadGenerator g = new WorkloadGenerator(spec, baseDir)) {
            adapters = g.adapters();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (adapters.isEmpty()) {
            throw new SpecException(
                    "adapters.count", "is 0: the placement models plan adapter workloads; give count >= 1");
        }
        // sessions and replayed arrival times are described by the requests they generate: each turn is a request
        // (its prompt holds the context it repeats), and its gaps give the burstiness
        TraceWorkload generated = null;
        SteadyCount steady = null;
        if (spec.sessions() != null || spec.arrivals() instanceof ArrivalsSpec.Trace) {
            try {
                steady = new SteadyCount(new WorkloadGenerator(spec, baseDir), spec.durationS());
                generated = ofTrace(
                        steady, Path.of(spec.name() == null ? "workload" : spec.name()), 16, model, pools, objective);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        double cv = generated != null
                ? generated.request().cv()
                : switch (spec.arrivals()) {
                    case ArrivalsSpec.Poisson p -> 1.0;
                    case ArrivalsSpec.Gamma g -> g.cv();
                    // evenly spaced: outside the trained burstiness (CV 1 to 2), which the plan's warnings name
                    case ArrivalsSpec.Constant c -> 0.0;
                    case ArrivalsSpec.Trace t -> throw new IllegalStateException();
                };
        double total = generated != null
                // every request, the base model's included: a spec's rate is counted so (its base share is load on
                // the same GPUs, carried by the adapters' rates), and the verification runs them all
                ? (spec.sessions() != null && steady.rate() > 0
                        ? steady.rate()
                        : generated.requests() / generated.spanS())
                : switch (spec.arrivals()) {
                    case ArrivalsSpec.Poisson p ->
                        p.rate() != null
                                ? p.rate()
                                : adapters.stream()
                                        .mapToDouble(Adapter::ratePerSecond)
                                        .sum();
                    case ArrivalsSpec.Gamma gm -> gm.rate();
                    case ArrivalsSpec.Constant c -> c.rate();
                    case ArrivalsSpec.Trace t -> throw new IllegalStateException();
                };
        int n = adapters.size();
        double[] rates = new double[n];
        double shareSum = adapters.stream().mapToDouble(Adapter::share).sum();
        for (int i = 0; i < n; i++) {
            Adapter a = adapters.get(i);
            rates[i] = Double.isNaN(a.ratePerSecond())
                    ? total * a.share() / Math.max(shareSum, 1e-300)
                    : a.ratePerSecond();
        }
        if (generated != null) {
            // requests per second of each adapter: the generated requests' rate split by the spec's shares
            for (int i = 0; i < n; i++) {
                rates[i] = total * adapters.get(i).share() / Math.max(shareSum, 1e-300);
            }
        }
        double[] byAdapter = rates.clone();
        double skew = skew(rates);
        double[] tiers = tiers(rates);
        int[] ranks = rankTriple(adapters);
        double[] means = generated != null
                ? new double[] {
                    generated.request().promptMean(), generated.request().outputMean()
                }
                : Sweep.measureLengths(new SweepSpec.LengthShape("workload", spec.lengths()), baseDir);
        int[] adapterRanks = adapters.stream().mapToInt(Adapter::rank).toArray();
        return new Planner.Request(
                model,
                n,
                tiers,
                ranks,
                means[0],
                means[1],
                cv,
                pools,
                objective,
                spec.lengths(),
                skew,
                busiestFirst(byAdapter),
                (served, windowS) -> ReplicaShares.of(spec, baseDir, byAdapter, adapterRanks, served, windowS));
    }

    /**
     * Passes a generated workload through while counting its requests (the base model's included) over the middle half of its
     * duration: a session workload's rate once sessions overlap in steady state (the first sessions' later
     * turns have not come yet at the start, and the last ones' come after the end), not the ramp's average.
     */
    private static final class SteadyCount implements TraceReader {
        private final TraceReader in;
        private final long from;
        private final long to;
        private long count;

        SteadyCount(TraceReader in, Double durationS) {
            this.in = in;
            double d = durationS == null ? 0 : durationS;
            this.from = (long) (d / 4 * 1e9);
            this.to = (long) (d * 3 / 4 * 1e9);
        }

        @Override
        public Request next() throws IOException {
            Request r = in.next();
            if (r != null && r.arrivalNs() >= from && r.arrivalNs() < to) {
                count++;
            }
            return r;
        }

        /** Requests per second in the middle half; 0 when the spec has no duration or none fell there. */
        double rate() {
            return to > from ? count / ((to - from) / 1e9) : 0;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /**
     * A trace described as a workload: how many requests it holds, how many of them name no adapter (they
     * are left out: the placement models plan adapter workloads), and the span of its arrivals.
     */
    public record TraceWorkload(Planner.Request request, long requests, long baseModelRequests, double spanS) {}

    /**
     * Describes a trace file the way the placement models see workloads: each adapter's rate is its
     * requests over the span of the trace's arrivals, cut into three tiers as for a spec; the ranks are
     * {@code adapterRank} (traces carry none); the lengths are the trace's means (and a log-normal of the
     * trace's mean and standard deviation, within the study's caps, for the verification run); the
     * burstiness is the coefficient of variation of the gaps between arrivals.
     *
     * @throws IllegalArgumentException naming the file when it has fewer than two adapter requests
     */
    public static TraceWorkload ofTrace(
            TraceReader reader,
            Path file,
            int adapterRank,
            String model,
            List<String> pools,
            Labels.Objective objective)
            throws IOException {
        Map<String, Long> perAdapter = new TreeMap<>();
        long requests = 0;
        long base = 0;
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        long previous = Long.MIN_VALUE;
        double gapSum = 0;
        double gapSquares = 0;
        long gaps = 0;
        double prompt = 0;
        double promptSquares = 0;
        double output = 0;
        double outputSquares = 0;
        try (reader) {
            Request r;
            while ((r = reader.next()) != null) {
                requests++;
                if (r.adapterId() == null) {
                    base++;
                    continue;
                }
                perAdapter.merge(r.adapterId(), 1L, Long::sum);
                first = Math.min(first, r.arrivalNs());
                last = Math.max(last, r.arrivalNs());
                if (previous != Long.MIN_VALUE) {
                    double gap = (r.arrivalNs() - previous) / 1e9;
                    gapSum += gap;
                    gapSquares += gap * gap;
                    gaps++;
                }
                previous = r.arrivalNs();
                prompt += r.promptTokens();
                promptSquares += (double) r.promptTokens() * r.promptTokens();
                output += r.outputTokens();
                outputSquares += (double) r.outputTokens() * r.outputTokens();
            }
        }
        long adapterRequests = requests - base;
        if (adapterRequests < 2 || last <= first) {
            throw new IllegalArgumentException(file + ": has " + adapterRequests + " request"
                    + (adapterRequests == 1 ? "" : "s") + " naming an adapter"
                    + (base > 0 ? " (and " + base + " for the base model)" : "")
                    + (adapterRequests < 2 ? "" : ", all at one instant")
                    + "; a plan needs adapter requests spread over time"
                    + (adapterRequests == 0 && base > 0
                            ? " (a trace without adapters gets them with: twinserve trace convert " + file
                                    + " -o OUT.jsonl --assign-adapters SPEC.yaml, as in"
                                    + " examples/workloads/zipf-adapters.yaml)"
                            : ""));
        }
        double span = (last - first) / 1e9 * (adapterRequests / (double) (adapterRequests - 1));
        double[] rates = perAdapter.values().stream().mapToDouble(c -> c / span).toArray();
        int n = rates.length;
        double skew = skew(rates);
        double[] tiers = tiers(rates);
        double gapMean = gapSum / gaps;
        double cv = gapMean > 0 ? Math.sqrt(Math.max(0, gapSquares / gaps - gapMean * gapMean)) / gapMean : 1.0;
        double promptMean = prompt / adapterRequests;
        double outputMean = output / adapterRequests;
        double promptStd = Math.sqrt(Math.max(0, promptSquares / adapterRequests - promptMean * promptMean));
        double outputStd = Math.sqrt(Math.max(0, outputSquares / adapterRequests - outputMean * outputMean));
        LengthsSpec lengths = new LengthsSpec(
                new DistributionSpec.LogNormal(promptMean, promptStd, null, null),
                new DistributionSpec.LogNormal(outputMean, outputStd, null, null),
                null,
                null,
                null,
                null,
                null,
                null);
        Planner.Request req = new Planner.Request(
                model,
                n,
                tiers,
                new int[] {adapterRank, adapterRank, adapterRank},
                Math.round(promptMean * 100) / 100.0,
                Math.round(outputMean * 100) / 100.0,
                Math.round(cv * 1000) / 1000.0,
                pools,
                objective,
                lengths,
                skew,
                busiestFirst(rates),
                null);
        return new TraceWorkload(req, requests, base, span);
    }

    /**
     * Per-adapter rates cut into three tiers, highest first: sorted, the i-th highest falls in tier i*3/n
     * (contiguous thirds, as the generator's tiers), and each tier's rate is its third's mean, so that the
     * total is kept. Sorts {@code rates} in place.
     */
    static double[] tiers(double[] rates) {
        Arrays.sort(rates);
        int n = rates.length;
        double[] tiers = new double[3];
        int[] counts = new int[3];
        for (int i = 0; i < n; i++) {
            int tier = (int) ((long) i * 3 / n);
            tiers[tier] += rates[n - 1 - i];
            counts[tier]++;
        }
        for (int t = 0; t < 3; t++) {
            tiers[t] = counts[t] == 0 ? (t > 0 ? tiers[t - 1] : 0) : tiers[t] / counts[t];
        }
        return tiers;
    }

    /** The rates sorted, busiest first (a copy). */
    static double[] busiestFirst(double[] rates) {
        double[] r = rates.clone();
        Arrays.sort(r);
        for (int i = 0, j = r.length - 1; i < j; i++, j--) {
            double t = r[i];
            r[i] = r[j];
            r[j] = t;
        }
        return r;
    }

    /**
     * Per-adapter rates as the placement models see them: {@link #tiers} and {@link #skew}, as
     * {@code {rate_high, rate_mid, rate_low, skew}}. Does not reorder {@code rates}.
     */
    public static double[] describe(double[] rates) {
        double skew = skew(rates);
        double[] t = tiers(rates.clone());
        return new double[] {t[0], t[1], t[2], skew};
    }

    /**
     * The within-tier popularity skew of per-adapter rates, in the sweeps' terms ({@link SweepSpec#tierSkew}):
     * in each tier (contiguous thirds of the rates, busiest first, as {@link #tiers}), the busiest fraction u of
     * a tier's m adapters carries u^(1-s) of its traffic under the sweeps' profile, so s is one minus the slope
     * of log cumulative share against log u, fitted through the origin over u = 1/m .. (m-1)/m (exact for the
     * profile, a least-squares fit for others, such as a Zipf over all adapters); the tiers' exponents are
     * averaged by their traffic. 0 when every tier is even. Does not reorder {@code rates}.
     */
    public static double skew(double[] rates) {
        double[] r = rates.clone();
        Arrays.sort(r);
        int n = r.length;
        double weighted = 0;
        double traffic = 0;
        for (int t = 0; t < 3; t++) {
            int from = (int) (((long) t * n + 2) / 3);
            int to = (int) (((long) (t + 1) * n + 2) / 3);
            int m = to - from;
            if (m < 2) {
                continue;
            }
            double total = 0;
            for (int j = from; j < to; j++) {
                total += r[n - 1 - j];
            }
            if (!(total > 0)) {
                continue;
            }
            double sxy = 0;
            double sxx = 0;
            double cum = 0;
            for (int k = 1; k < m; k++) {
                cum += r[n - 1 - (from + k - 1)];
                double x = Math.log((double) k / m);
                sxy += x * Math.log(cum / total);
                sxx += x * x;
            }
            double s = Math.clamp(1 - sxy / sxx, 0.0, 0.99);
            weighted += s * total;
            traffic += total;
        }
        return traffic > 0 ? Math.round(weighted / traffic * 1000) / 1000.0 : 0;
    }

    /** The round-robin rank triple of the adapters (the first three), or min/median/max when they differ. */
    static int[] rankTriple(List<Adapter> adapters) {
        int n = adapters.size();
        if (n >= 3) {
            boolean roundRobin = true;
            for (int i = 3; i < n && roundRobin; i++) {
                roundRobin = adapters.get(i).rank() == adapters.get(i % 3).rank();
            }
            if (roundRobin) {
                return new int[] {
                    adapters.get(0).rank(),
                    adapters.get(1).rank(),
                    adapters.get(2).rank()
                };
            }
        }
        int[] r = adapters.stream().mapToInt(Adapter::rank).sorted().toArray();
        return new int[] {r[0], r[r.length / 2], r[r.length - 1]};
    }
}

package io.twinserve.placement;

import io.twinserve.traces.gen.ThinkTimes;
import io.twinserve.traces.spec.ClientSpec;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.perf.PerfModel;
import io.twinserve.twin.perf.StepShape;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.DoubleUnaryOperator;

/**
 * What a client that answers to the server sends: closed-loop users (each sends its next request a think
 * time after its previous answer) or a cap on outstanding requests. The trees were trained on open-loop
 * arrivals, so such a workload is planned at the request rate its client would sustain against the planned
 * replica, not at the rate of its arrival process.
 *
 * <p>The rate comes from the interactive response time law and Little's law over the twin's own step
 * prices. At a replica throughput of X requests/s with steps of s seconds, a request takes about
 * R = (O + 1/2) s (half a step to be admitted, its prefill step, O - 1 decode steps), so X R requests are in
 * flight: X s (O - 1) of them decoding, X s new each step with P prompt tokens each. The step time s is the
 * fixed point of the replica's step price for that batch ({@link PerfModel#stepNs}, LoRA terms included:
 * the distinct adapters of a step are those with a request in flight). Closed-loop users then send
 * X = N / (Z + R(X)); a capped client X = min(λ, C / R(X)), λ being its open-loop rate. Past the replica's
 * capacity (no fixed point, or more KV than it has) R is unbounded.
 */
public final class ClientLoad {
    private ClientLoad() {}

    /** A client that answers to the server: {@code users} with a mean think time, or a cap (or both null: open). */
    public record Client(Integer users, double thinkMeanS, Integer maxOutstanding) {
        /**
         * The client of a workload spec's {@code client} block, or null when it neither loops nor caps.
         *
         * @param baseDir where an empirical think time's file is looked up (the spec's folder)
         */
        public static Client of(ClientSpec c, Path baseDir) {
            if (c == null || (c.users() == null && c.maxOutstanding() == null)) {
                return null;
            }
            return new Client(
                    c.users(), c.users() == null ? 0 : ThinkTimes.meanS(c.thinkTimeS(), baseDir), c.maxOutstanding());
        }

        public boolean closedLoop() {
            return users != null;
        }

        public String describe() {
            String cap = maxOutstanding == null
                    ? ""
                    : String.format(Locale.ROOT, "a cap of %,d outstanding requests", maxOutstanding);
            return closedLoop()
                    ? String.format(
                            Locale.ROOT,
                            "%,d closed-loop users thinking %.3g s on average%s",
                            users,
                            thinkMeanS,
                            cap.isEmpty() ? "" : " behind " + cap)
                    : cap;
        }
    }

    /**
     * One replica's estimate.
     *
     * @param scale the sustained rate over the open-loop rate (at most 1)
     * @param requestRate the replica's sustained requests/s
     * @param responseS the mean time from a request's send to its last token, in s
     * @param stepMs the mean step time, in ms
     */
    public record Estimate(double scale, double requestRate, double responseS, double stepMs) {}

    /** A plan at the rates its client sustains, with the estimate of its replica. */
    public record Adjusted(Planner.Plan plan, Planner.Request request, Estimate estimate, int rounds) {}

    /**
     * Plans {@code r} at the rates {@code client} sustains: plans, estimates the rate against the planned
     * replica, plans again at that rate, until the configuration repeats (at most four rounds).
     */
    public static Adjusted plan(Planner planner, Planner.Request r, Client client, Profiles profiles)
            throws IOException {
        Planner.Request at = r;
        Planner.Plan plan = planner.plan(r);
        Estimate e = null;
        int rounds = 0;
        while (rounds < 4) {
            rounds++;
            e = estimate(planner.twin().replica(plan, r, profiles), r, plan.servedPerGpu(), plan.maxAdapters(), client);
            Planner.Request next = r.throttled(e.scale());
            Planner.Plan again = planner.plan(next);
            at = next;
            boolean same = again.servedPerGpu() == plan.servedPerGpu()
                    && again.maxAdapters() == plan.maxAdapters()
                    && again.pool().equals(plan.pool())
                    && again.tp() == plan.tp()
                    && again.kvCacheLen() == plan.kvCacheLen();
            plan = again;
            if (same) {
                break;
            }
        }
        return new Adjusted(plan, at, e, rounds);
    }

    /**
     * The rate {@code client} sustains against one replica serving {@code served} of the request's adapters on
     * {@code slots} slots (its users and cap taken in proportion to the adapters served, as the verification
     * splits them).
     */
    public static Estimate estimate(ResolvedReplica replica, Planner.Request r, int served, int slots, Client client) {
        double share = Math.min(1, (double) served / r.adapters());
        double[] tier = r.rates();
        double open = Scenario.requestRate(served, tier);
        double meanRank = (r.ranks()[0] + r.ranks()[1] + r.ranks()[2]) / 3.0;
        Model m = new Model(
                replica.perf(),
                replica.scheduler().kvCacheTokens(),
                replica.scheduler().maxNumBatchedTokens(),
                r.promptMean(),
                r.outputMean(),
                served,
                tier,
                slots,
                meanRank,
                replica.scheduler().maxAdapterRank());
        double x;
        if (client.closedLoop()) {
            double users = Math.max(1, client.users() * share);
            double hi = client.thinkMeanS() > 0 ? users / client.thinkMeanS() : users / m.responseS(1e-9);
            // g(X) = users / (Z + R(X)) - X falls from positive at 0 to negative at hi (R > 0); a cap as well holds at
            // most that many of them in flight
            double cap = client.maxOutstanding() == null
                    ? Double.POSITIVE_INFINITY
                    : Math.max(1, client.maxOutstanding() * share);
            x = bisect(0, hi, v -> {
                double rs = m.responseS(v);
                return Math.min(users / (client.thinkMeanS() + rs), cap / rs) - v;
            });
        } else {
            double cap = Math.max(1, client.maxOutstanding() * share);
            double atOpen = m.responseS(open);
            x = cap / atOpen >= open ? open : bisect(0, open, v -> cap / m.responseS(v) - v);
        }
        // a cap lets at most the open rate through; a closed loop's rate is its users', whatever its arrival
        // process says, and may exceed it
        double scale = open <= 0 ? 1 : client.closedLoop() ? x / open : Math.min(1, x / open);
        double s = m.stepS(x);
        return new Estimate(scale, x, m.responseS(x), Double.isFinite(s) ? s * 1e3 : Double.POSITIVE_INFINITY);
    }

    private static double bisect(double lo, double hi, DoubleUnaryOperator g) {
        for (int i = 0; i < 80; i++) {
            double mid = (lo + hi) / 2;
            if (g.applyAsDouble(mid) > 0) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** The step and response time of one replica at a sustained request rate. */
    private record Model(
            PerfModel perf,
            long kvTokens,
            int budget,
            double prompt,
            double output,
            int served,
            double[] tierRates,
            int slots,
            double meanRank,
            int slotRank) {

        /** R(X) in s: unbounded past the replica's capacity. */
        double responseS(double x) {
            double s = stepS(x);
            return Double.isFinite(s) ? (output + 0.5) * s : Double.POSITIVE_INFINITY;
        }

        /** The fixed point of the step time at X requests/s, in s (infinite when there is none). */
        double stepS(double x) {
            double s = priceS(x, 0);
            for (int i = 0; i < 200; i++) {
                double next = priceS(x, s);
                if (!Double.isFinite(next) || next > 60) {
                    return Double.POSITIVE_INFINITY;
                }
                if (Math.abs(next - s) <= 1e-9 + 1e-7 * s) {
                    return next;
                }
                s = next;
            }
            return s;
        }

        /**
         * The mean price of a step when steps take {@code s} seconds and X requests/s arrive: steps without a
         * prefill and steps with one priced apart and weighted (a step that takes a prompt costs far more than
         * a decode step, and the roofline's max is convex, so pricing the mean step would be short). About
         * X s requests start per step, Poisson: a share q = 1 - e^(-X s) of the steps take their prompts (more
         * when those would not fit the step's token budget).
         */
        double priceS(double x, double s) {
            double decoders = x * Math.max(0, output - 1) * s;
            double starting = x * s;
            double prefillTokens = starting * prompt;
            double room = budget - decoders;
            if (prefillTokens > room) {
                // more tokens a step than the step's budget: the queue grows
                return Double.POSITIVE_INFINITY;
            }
            double context = decoders * (prompt + output / 2);
            if (context + prefillTokens > kvTokens) {
                return Double.POSITIVE_INFINITY;
            }
            double response = (output + 0.5) * s;
            double distinct = 0;
            double open = openRate();
            for (int i = 0; i < served; i++) {
                double rate = tierRates[(int) ((long) i * tierRates.length / served)] * (open > 0 ? x / open : 0);
                distinct += 1 - Math.exp(-rate * response);
            }
            double q = prefillTokens <= 0 ? 0 : Math.min(1, Math.max(1 - Math.exp(-starting), prefillTokens / room));
            double decodeStep = price(decoders, 0, 0, context, distinct);
            if (q == 0) {
                return decodeStep;
            }
            double perPrefillStep = starting / q;
            return (1 - q) * decodeStep
                    + q * price(decoders, perPrefillStep, perPrefillStep * prompt, context, distinct);
        }

        /** One step's price in s: decoders, and prompts of {@code requests} requests taking {@code tokens} tokens. */
        private double price(double decoders, double requests, double tokens, double context, double distinct) {
            StepShape shape = new StepShape();
            shape.decodeSequences = (int) Math.round(decoders);
            shape.newRequests = (int) Math.round(requests);
            shape.sequences = Math.max(1, (int) Math.round(decoders + requests));
            shape.newTokens = (int) Math.max(1, Math.round(decoders + tokens));
            shape.decodeContextTokens = Math.round(context + decoders);
            shape.kvReadTokens = Math.round(context + decoders + tokens);
            double perRequest = requests > 0 ? tokens / requests : 0;
            shape.prefillAttentionPairs = Math.round(requests * perRequest * (perRequest + 1) / 2);
            shape.sampledTokens = shape.sequences;
            shape.adapterTokens = shape.newTokens;
            shape.distinctAdapters = (int) Math.max(1, Math.round(Math.min(distinct, slots)));
            shape.adapterRankSum = Math.round(shape.distinctAdapters * meanRank);
            shape.loraSlots = slots;
            shape.loraSlotRank = slotRank;
            shape.loadedAdapters = Math.min(slots, served);
            return perf.stepNs(shape) / 1e9;
        }

        double openRate() {
            return Scenario.requestRate(served, tierRates);
        }
    }
}

package io.twinserve.placement;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The feature sets of the placement targets: names, values and their plain-words descriptions. A
 * categorical value (model, pool) is a one-hot feature {@code model=NAME}.
 */
public enum Features {
    /** The best placement (pool, tp, KV) for a workload: the family plus the served count. */
    DEMAND(true, false, false),
    /** The most adapters one GPU serves: the family on a placement, without counts. */
    FAMILY(false, true, false),
    /** The best slot count: the family on a placement plus the served count. */
    WORKLOAD(true, true, false),
    /** Throughput and starvation of one configuration: everything, slots included. */
    CONFIGURED(true, true, true);

    private final boolean served;
    private final boolean placement;
    private final boolean config;

    Features(boolean served, boolean placement, boolean slots) {
        this.served = served;
        this.placement = placement;
        this.config = slots;
    }

    /** Numeric feature names, in vector order (one-hot categoricals come after, by name). */
    public List<String> numericNames() {
        List<String> n = new ArrayList<>(List.of(
                "rate_high",
                "rate_mid",
                "rate_low",
                "rate_mean",
                "rank_min",
                "rank_mean",
                "rank_max",
                "prompt_mean",
                "output_mean",
                "cv",
                "adapter_tps",
                "tier_skew",
                "adapter_load"));
        if (served) {
            n.addAll(List.of("served", "offered_rps", "offered_tps", "offered_load"));
        }
        if (placement) {
            n.addAll(List.of("tp", "kv_cache_len"));
        }
        if (config) {
            n.addAll(List.of("slots", "slots_share"));
        }
        return n;
    }

    /** The numeric values, in {@link #numericNames()} order, without a load estimate (its features read 0). */
    public double[] numeric(WorkloadFeatures w) {
        return numeric(w, LoadModel.NONE);
    }

    /** The numeric values, in {@link #numericNames()} order, the load features from {@code load}. */
    public double[] numeric(WorkloadFeatures w, LoadModel load) {
        double adapterLoad = load.adapterLoad(w);
        double mean = (w.rates()[0] + w.rates()[1] + w.rates()[2]) / 3;
        int[] r = w.ranks();
        double[] base = {
            w.rates()[0],
            w.rates()[1],
            w.rates()[2],
            mean,
            Math.min(r[0], Math.min(r[1], r[2])),
            (r[0] + r[1] + r[2]) / 3.0,
            Math.max(r[0], Math.max(r[1], r[2])),
            w.promptMean(),
            w.outputMean(),
            w.cv(),
            mean * (w.promptMean() + w.outputMean()),
            w.skew(),
            adapterLoad
        };
        int size = base.length + (served ? 4 : 0) + (placement ? 2 : 0) + (config ? 2 : 0);
        double[] v = Arrays.copyOf(base, size);
        int k = base.length;
        if (served) {
            v[k++] = w.served();
            v[k++] = w.offeredRps();
            v[k++] = w.offeredTps();
            v[k++] = w.served() * adapterLoad;
        }
        if (placement) {
            v[k++] = w.tp();
            v[k++] = w.kvCacheLen();
        }
        if (config) {
            v[k++] = w.slots();
            v[k++] = (double) w.slots() / Math.max(1, w.served());
        }
        return v;
    }

    /** Whether the set holds the placement features (pool, tp, KV), the pool's one-hot among them. */
    public boolean placement() {
        return placement;
    }

    /** The one-hot categorical features of a workload. */
    public List<String> categorical(WorkloadFeatures w) {
        List<String> c = new ArrayList<>(List.of("model=" + w.model()));
        if (placement) {
            c.add("pool=" + w.pool());
        }
        return c;
    }

    /** A feature in plain words, for the rules the planner prints. */
    public static String describe(String name) {
        if (name.startsWith("model=")) {
            return "the model is " + name.substring(6);
        }
        if (name.startsWith("pool=")) {
            return "the pool is " + name.substring(5);
        }
        String d = WORDS.get(name);
        return d == null ? name : d;
    }

    private static final Map<String, String> WORDS = Map.ofEntries(
            Map.entry("rate_high", "the busiest tier's rate per adapter (req/s)"),
            Map.entry("rate_mid", "the middle tier's rate per adapter (req/s)"),
            Map.entry("rate_low", "the quietest tier's rate per adapter (req/s)"),
            Map.entry("rate_mean", "the mean rate per adapter (req/s)"),
            Map.entry("rank_min", "the smallest adapter rank"),
            Map.entry("rank_mean", "the mean adapter rank"),
            Map.entry("rank_max", "the largest adapter rank"),
            Map.entry("prompt_mean", "the mean prompt (tokens)"),
            Map.entry("output_mean", "the mean output (tokens)"),
            Map.entry("cv", "the arrival burstiness (CV)"),
            Map.entry("adapter_tps", "the tokens/s one adapter offers"),
            Map.entry(
                    "tier_skew",
                    "the popularity skew within a tier (0 = even; its busiest tenth carries 0.1^(1-skew))"),
            Map.entry("adapter_load", "the share of a GPU one adapter takes (rate x tokens, fitted per model)"),
            Map.entry("offered_load", "the share of a GPU the served adapters take (served x adapter_load)"),
            Map.entry("served", "the adapters served"),
            Map.entry("offered_rps", "the offered load (req/s)"),
            Map.entry("offered_tps", "the offered load (tokens/s)"),
            Map.entry("slots", "the adapter slots"),
            Map.entry("slots_share", "the slots per served adapter"),
            Map.entry("tp", "the tensor parallelism"),
            Map.entry("kv_cache_len", "the KV capacity (tokens, 0 = from memory)"));

    static String num(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e9) {
            return String.format(Locale.ROOT, "%,d", (long) v);
        }
        return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%,.0f" : Math.abs(v) >= 1 ? "%.2f" : "%.4g", v);
    }
}

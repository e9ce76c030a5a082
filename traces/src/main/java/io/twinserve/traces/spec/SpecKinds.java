package io.twinserve.traces.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which kind of spec a YAML document is, from the top-level keys only that kind has, for the error a file given in
 * the wrong place gets ("this looks like a workload spec, not a capacity spec"): a workload spec passed to
 * {@code capacity}, or a deployment spec given as {@code --workload}, otherwise names only its first key as unknown.
 * The spec records live in several modules, so each kind's top-level keys are listed here by hand (a test of the
 * placement model, which sees every record, checks them against the records) and the keys only one kind has are
 * derived from the lists.
 */
public final class SpecKinds {
    /** Every kind's top-level keys, by kind. */
    private static final Map<String, Set<String>> KEYS = new LinkedHashMap<>();

    private static final Map<String, String> KIND_OF_TYPE = Map.of(
            "WorkloadSpec", "workload spec",
            "DeploymentSpec", "deployment spec",
            "ClusterSpec", "cluster spec",
            "CapacitySpec", "capacity spec",
            "SweepSpec", "sweep spec");

    static {
        KEYS.put(
                "workload spec",
                Set.of(
                        "name",
                        "description",
                        "seed",
                        "duration_s",
                        "requests",
                        "arrivals",
                        "adapters",
                        "lengths",
                        "sessions",
                        "client",
                        "slo"));
        KEYS.put(
                "deployment spec",
                Set.of("name", "model", "gpu", "perf_model", "replica", "slo", "starvation_bound_s"));
        KEYS.put("cluster spec", Set.of("name", "pools", "deployments", "traffic"));
        KEYS.put(
                "capacity spec",
                Set.of(
                        "adapter_rank",
                        "max_ttft_ms",
                        "model",
                        "name",
                        "perf_model",
                        "pools",
                        "rate",
                        "replica",
                        "search",
                        "seed",
                        "slo",
                        "window_s",
                        "workload"));
        KEYS.put(
                "sweep spec",
                Set.of(
                        "name",
                        "description",
                        "seed",
                        "window_s",
                        "models",
                        "pools",
                        "served",
                        "slots",
                        "rates",
                        "tiers",
                        "ranks",
                        "tp",
                        "kv_cache_len",
                        "lengths",
                        "burstiness",
                        "replica",
                        "sample",
                        "stop_when_starving",
                        "sample_families",
                        "stop_after_miss",
                        "slo",
                        "tier_skew"));
    }

    private SpecKinds() {}

    /** Every kind's top-level keys, by kind ("workload spec", ...), as listed here. */
    public static Map<String, Set<String>> keys() {
        return KEYS;
    }

    /** The kind a spec record is parsed as ("workload spec", ...), or null for a record not listed here. */
    public static String kindOf(Class<?> type) {
        return KIND_OF_TYPE.get(type.getSimpleName());
    }

    /** The keys only {@code kind} has among the kinds listed here. */
    static Set<String> ownKeys(String kind) {
        Set<String> own = new HashSet<>(KEYS.get(kind));
        KEYS.forEach((other, keys) -> {
            if (!other.equals(kind)) {
                own.removeAll(keys);
            }
        });
        return own;
    }

    /**
     * "; the file looks like a workload spec (it has adapters, arrivals), not a capacity spec" when the document has
     * more of another kind's own top-level keys than of {@code type}'s own; empty otherwise (or when {@code type} is
     * not one of the kinds listed here).
     */
    static String hint(ObjectMapper yaml, String text, Class<?> type) {
        String expected = kindOf(type);
        if (expected == null) {
            return "";
        }
        JsonNode root;
        try {
            root = yaml.readTree(text);
        } catch (Exception e) {
            return "";
        }
        if (root == null || !root.isObject()) {
            return "";
        }
        List<String> top = new ArrayList<>();
        root.fieldNames().forEachRemaining(top::add);
        int expectedOwn = (int) top.stream().filter(ownKeys(expected)::contains).count();
        String best = null;
        List<String> bestKeys = List.of();
        for (String kind : KEYS.keySet()) {
            if (kind.equals(expected)) {
                continue;
            }
            Set<String> own = ownKeys(kind);
            List<String> found = top.stream().filter(own::contains).toList();
            if (found.size() > bestKeys.size()) {
                best = kind;
                bestKeys = found;
            }
        }
        if (best == null || bestKeys.size() <= expectedOwn) {
            return "";
        }
        return "; the file looks like a " + best + " (it has " + String.join(", ", bestKeys) + "), not a " + expected;
    }
}

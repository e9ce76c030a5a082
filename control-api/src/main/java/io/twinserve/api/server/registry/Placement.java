package io.twinserve.api.server.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import io.twinserve.traces.spec.KeySuggestions;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.router.RouterSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A deployment's {@code placement}: the compute pools it may use, its TTFT bound, its replica bounds and
 * its router (the twin's {@link RouterSpec}; by default {@code session_affinity}: least loaded, with a
 * session's turns kept on the replica of its first).
 */
public record Placement(
        List<String> computePools, long maxTtftMs, int minReplicas, int maxReplicas, RouterSpec router) {
    /** The keys {@code placement} takes. */
    static final List<String> KEYS = List.of("compute_pools", "max_replicas", "max_ttft_ms", "min_replicas", "router");

    public Placement {
        computePools = List.copyOf(computePools);
        router = router == null ? defaultRouter() : router;
    }

    /** What the server did before routers were configurable: least loaded, sessions sticky. */
    public static RouterSpec defaultRouter() {
        return new RouterSpec.SessionAffinity();
    }

    /** As stored and shown: snake_case keys, the router as {@code {type: ..., ...}}. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("compute_pools", computePools);
        m.put("max_ttft_ms", maxTtftMs);
        m.put("min_replicas", minReplicas);
        m.put("max_replicas", maxReplicas);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("type", RouterSpec.typeName(router));
        if (router instanceof RouterSpec.AdapterAffinity a) {
            r.put("load_slack", a.loadSlack());
        }
        m.put("router", r);
        return m;
    }

    /**
     * Reads and validates a request's {@code placement}; an unknown key, or an unknown router type, is
     * refused naming it and what is allowed.
     *
     * @param requirePool throws when a pool name is not in the registry
     */
    static Placement parse(JsonNode p, Consumer<String> requirePool) {
        if (p != null && !p.isNull() && !p.isObject()) {
            throw ApiException.badRequest("placement", "'placement' must be an object, got " + p);
        }
        ObjectNode o = p == null || p.isNull() ? Bodies.JSON.createObjectNode() : (ObjectNode) p;
        String key = Bodies.unknownKey(o, KEYS);
        if (key != null) {
            throw ApiException.badRequest(
                    "placement." + key,
                    "'placement." + key + "' is not a known key" + KeySuggestions.didYouMean(key, KEYS)
                            + "; expected one of " + String.join(", ", KEYS));
        }
        List<String> pools = new ArrayList<>();
        JsonNode list = o.get("compute_pools");
        if (list == null || list.isNull() || !list.isArray() || list.isEmpty()) {
            throw ApiException.badRequest(
                    "placement.compute_pools",
                    "'placement.compute_pools' is required: a list of"
                            + " compute pool names (create pools with POST /api/compute-pools)");
        }
        for (JsonNode n : list) {
            if (!n.isTextual()) {
                throw ApiException.badRequest(
                        "placement.compute_pools", "'placement.compute_pools' must list names, got " + n);
            }
            requirePool.accept(n.asText());
            pools.add(n.asText());
        }
        Integer ttft = Bodies.optionalInt(o, "max_ttft_ms", 1, Integer.MAX_VALUE);
        Integer min = Bodies.optionalInt(o, "min_replicas", 1, 64);
        Integer max = Bodies.optionalInt(o, "max_replicas", 1, 64);
        int minR = min == null ? 1 : min;
        int maxR = max == null ? minR : max;
        if (maxR < minR) {
            throw ApiException.badRequest(
                    "placement.max_replicas",
                    "'placement.max_replicas' (" + maxR + ") must be >= min_replicas (" + minR + ")");
        }
        return new Placement(pools, ttft == null ? 60_000L : ttft, minR, maxR, router(o.get("router")));
    }

    private static RouterSpec router(JsonNode r) {
        if (r == null || r.isNull()) {
            return defaultRouter();
        }
        if (!r.isObject()) {
            throw ApiException.badRequest(
                    "placement.router",
                    "'placement.router' must be an object such as" + " {\"type\": \"cache_aware\"}, got " + r);
        }
        try {
            return WorkloadSpecs.parse(r.toString(), null, RouterSpec.class);
        } catch (SpecException e) {
            String key = e.keyPath() == null || e.keyPath().isEmpty()
                    ? "placement.router"
                    : "placement.router." + e.keyPath();
            throw ApiException.badRequest(key, "'" + key + "': " + e.problem());
        }
    }
}

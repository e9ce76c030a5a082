package io.twinserve.api.server.inference;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.lettuce.core.KeyValue;
import io.lettuce.core.SetArgs;
import io.twinserve.api.server.infra.Redis;
import java.net.InetAddress;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What each server instance says of each deployment, shared through Redis so that any instance can answer for all:
 * {@code serving}, or {@code failed} with why it could not start there. The registry's status is the deployment's
 * (every instance is to serve it); this is where it actually serves. Each instance writes its own entries, one key
 * per deployment and instance, renewed at every reconciliation and expiring after three of them, so an instance that
 * died drops out on its own. Redis being away only hides the entries: nothing here stops a deployment.
 */
final class InstanceStates {
    private static final Logger LOG = LoggerFactory.getLogger(InstanceStates.class);
    static final String PREFIX = "twinserve:deployment-instance:";
    /**
     * The set of every entry's key, so that reading them costs two round trips however large the keyspace (a SCAN
     * walks every key Redis holds: sessions and usage counters too). An entry that expired leaves its key here until
     * a read finds it gone and removes it.
     */
    static final String INDEX = "twinserve:deployment-instances";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long TIMEOUT_SECONDS = 2;

    private final Redis redis;
    private final String instance;
    private final String host;
    private final long ttlSeconds;
    /** Since when each deployment has been in its state here (kept while the state stays the same). */
    private final Map<String, Map<String, Object>> mine = new ConcurrentHashMap<>();

    /** @param ttlSeconds how long an entry lives without being renewed (three reconciliations) */
    InstanceStates(Redis redis, String instance, long ttlSeconds) {
        this.redis = redis;
        this.instance = instance;
        this.ttlSeconds = ttlSeconds;
        this.host = hostName();
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "unknown";
        }
    }

    /** The deployment serves here. */
    synchronized void serving(String deployment) {
        put(deployment, "serving", null);
    }

    /** The deployment could not start here, for {@code reason}. */
    synchronized void failed(String deployment, String reason) {
        put(deployment, "failed", reason);
    }

    /** The deployment no longer runs here (stopped, undeployed, or the server stopping). */
    synchronized void gone(String deployment) {
        mine.remove(deployment);
        try {
            String key = key(deployment, instance);
            redis.async().del(key).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            redis.async().srem(INDEX, key).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            // expires on its own
            LOG.debug("instance state of '{}' not removed from Redis: {}", deployment, e.toString());
        }
    }

    /**
     * Writes every entry of this instance again, renewing its expiry. Synchronized with the changes: a renewal never
     * writes back an entry a stop has just removed, nor an older state over a newer one.
     */
    synchronized void renew() {
        for (Map.Entry<String, Map<String, Object>> e : mine.entrySet()) {
            write(e.getKey(), e.getValue());
        }
    }

    /** Every deployment this instance has an entry for. */
    List<String> deployments() {
        return List.copyOf(mine.keySet());
    }

    private void put(String deployment, String state, String error) {
        Map<String, Object> entry = mine.compute(deployment, (d, before) -> {
            if (before != null
                    && state.equals(before.get("state"))
                    && java.util.Objects.equals(error, before.get("error"))) {
                return before;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("instance", instance);
            m.put("host", host);
            m.put("state", state);
            if (error != null) {
                m.put("error", error);
            }
            m.put("since", OffsetDateTime.now(ZoneOffset.UTC).toString());
            return m;
        });
        write(deployment, entry);
    }

    private void write(String deployment, Map<String, Object> entry) {
        try {
            String key = key(deployment, instance);
            redis.async()
                    .set(key, JSON.writeValueAsString(entry), SetArgs.Builder.ex(ttlSeconds))
                    .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            redis.async().sadd(INDEX, key).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (Exception e) {
            // the next reconciliation writes it again
            LOG.debug("instance state of '{}' not written to Redis: {}", deployment, e.toString());
        }
    }

    /**
     * Every instance's entry for every deployment, by deployment name, each list ordered by instance; empty when
     * Redis cannot be read.
     */
    Map<String, List<Map<String, Object>>> all() {
        Map<String, List<Map<String, Object>>> out = new TreeMap<>();
        try {
            List<String> keys = new ArrayList<>(redis.async().smembers(INDEX).get(TIMEOUT_SECONDS, TimeUnit.SECONDS));
            if (keys.isEmpty()) {
                return out;
            }
            List<String> expired = new ArrayList<>();
            for (KeyValue<String, String> kv :
                    redis.async().mget(keys.toArray(String[]::new)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                if (!kv.hasValue()) {
                    // expired (its instance stopped renewing it): dropped from the index
                    expired.add(kv.getKey());
                    continue;
                }
                if (!kv.getKey().startsWith(PREFIX)) {
                    continue;
                }
                String rest = kv.getKey().substring(PREFIX.length());
                int colon = rest.lastIndexOf(':');
                if (colon < 0) {
                    // not one of these keys
                    continue;
                }
                try {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> entry = JSON.readValue(kv.getValue(), Map.class);
                    out.computeIfAbsent(rest.substring(0, colon), d -> new ArrayList<>())
                            .add(entry);
                } catch (java.io.IOException e) {
                    // one unreadable entry hides only itself
                    LOG.debug("instance state {} not read: {}", kv.getKey(), e.toString());
                }
            }
            if (!expired.isEmpty()) {
                redis.async().srem(INDEX, expired.toArray(String[]::new));
            }
        } catch (Exception e) {
            LOG.debug("instance states not read from Redis: {}", e.toString());
            return new TreeMap<>();
        }
        out.values().forEach(l -> l.sort(Comparator.comparing(m -> String.valueOf(m.get("instance")))));
        return out;
    }

    /** Every instance's entry for {@code deployment}, ordered by instance; empty when Redis cannot be read. */
    List<Map<String, Object>> of(String deployment) {
        return all().getOrDefault(deployment, List.of());
    }

    private static String key(String deployment, String instance) {
        return PREFIX + deployment + ":" + instance;
    }
}

package io.twinserve.twin.router;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.twinserve.traces.spec.SpecException;

/** How a deployment's router picks a replica for each request (docs/cluster-spec.md). */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = RouterSpec.RoundRobin.class, name = "round_robin"),
    @JsonSubTypes.Type(value = RouterSpec.LeastLoaded.class, name = "least_loaded"),
    @JsonSubTypes.Type(value = RouterSpec.SessionAffinity.class, name = "session_affinity"),
    @JsonSubTypes.Type(value = RouterSpec.AdapterAffinity.class, name = "adapter_affinity"),
    @JsonSubTypes.Type(value = RouterSpec.CacheAware.class, name = "cache_aware"),
})
public sealed interface RouterSpec {

    /** Replicas in turn. */
    record RoundRobin() implements RouterSpec {}

    /** The replica with the fewest outstanding requests (waiting + running). */
    record LeastLoaded() implements RouterSpec {}

    /**
     * A session's turns (or, without sessions, requests that share their first prefix block) go to the
     * replica that served the first one; new sessions go to the least loaded replica.
     */
    record SessionAffinity() implements RouterSpec {}

    /**
     * Prefer the least loaded replica whose GPU slots hold the request's adapter, unless it has more than
     * {@code loadSlack} outstanding requests above the least loaded replica; otherwise the least loaded.
     */
    record AdapterAffinity(Integer loadSlack) implements RouterSpec {
        public AdapterAffinity {
            loadSlack = loadSlack == null ? 8 : loadSlack;
            if (loadSlack < 0) {
                throw new SpecException("load_slack", "must be >= 0 requests, got " + loadSlack);
            }
        }
    }

    /**
     * Stateful KV: estimates when the request would finish its prefill on each replica (the prefill work
     * queued there, plus this prompt minus the prefix that replica has cached) and takes the earliest.
     */
    record CacheAware() implements RouterSpec {}

    /** The policy's name as specs write it. */
    static String typeName(RouterSpec spec) {
        return switch (spec) {
            case RoundRobin ignored -> "round_robin";
            case LeastLoaded ignored -> "least_loaded";
            case SessionAffinity ignored -> "session_affinity";
            case AdapterAffinity ignored -> "adapter_affinity";
            case CacheAware ignored -> "cache_aware";
        };
    }

    static RouterSpec defaults() {
        return new LeastLoaded();
    }
}

package io.twinserve.twin.cluster;

import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.autoscale.AutoscalerSpec;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.perf.PerfModelSpec;
import io.twinserve.twin.router.RouterSpec;
import java.util.List;

/**
 * One model served by a cluster: the replica configuration (as in a single-replica deployment), the
 * compute pools its replicas may use (in order of preference), how many replicas, the router, the
 * autoscaler and the TTFT deadline. Documented in docs/cluster-spec.md.
 *
 * @param model a model profile name or the path of a Hugging Face config.json
 * @param maxTtftMs a request whose first token would come later than this after its arrival (queue
 *     time included) is dropped with status 408 (default 60000, as in the control API)
 * @param starvationBoundS a request starves when it waits longer than this before it is first scheduled
 */
public record ClusterDeploymentSpec(
        String name,
        String model,
        ReplicaSpec replica,
        PerfModelSpec perfModel,
        List<String> pools,
        ReplicaBounds replicas,
        RouterSpec router,
        AutoscalerSpec autoscaler,
        Double maxTtftMs,
        Double starvationBoundS,
        SloSpec slo) {

    /** A deployment without an SLO of its own. */
    public ClusterDeploymentSpec(
            String name,
            String model,
            ReplicaSpec replica,
            PerfModelSpec perfModel,
            List<String> pools,
            ReplicaBounds replicas,
            RouterSpec router,
            AutoscalerSpec autoscaler,
            Double maxTtftMs,
            Double starvationBoundS) {
        this(name, model, replica, perfModel, pools, replicas, router, autoscaler, maxTtftMs, starvationBoundS, null);
    }

    public ClusterDeploymentSpec {
        if (name == null || name.isBlank()) {
            throw new SpecException("name", "is required: the deployment's name (what requests and reports refer to)");
        }
        if (model == null || model.isBlank()) {
            throw new SpecException(
                    "model", "is required: a model profile name (e.g. llama-3.1-8b) or a config.json path");
        }
        if (pools == null || pools.isEmpty()) {
            throw new SpecException("pools", "is required: the compute pools its replicas may use, e.g. [h100]");
        }
        pools = List.copyOf(pools);
        replica = replica == null ? ReplicaSpec.defaults() : replica;
        perfModel = perfModel == null ? new PerfModelSpec.Roofline(null) : perfModel;
        replicas = replicas == null ? ReplicaBounds.of(1) : replicas;
        router = router == null ? RouterSpec.defaults() : router;
        autoscaler = autoscaler == null ? new AutoscalerSpec.Fixed() : autoscaler;
        maxTtftMs = maxTtftMs == null ? 60_000.0 : maxTtftMs;
        if (!(maxTtftMs > 0)) {
            throw new SpecException("max_ttft_ms", "must be > 0, got " + maxTtftMs);
        }
        starvationBoundS = starvationBoundS == null ? 60.0 : starvationBoundS;
        if (!(starvationBoundS > 0)) {
            throw new SpecException("starvation_bound_s", "must be > 0, got " + starvationBoundS);
        }
    }
}

package io.twinserve.twin.deploy;

import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.perf.PerfModelSpec;

/**
 * A single-replica deployment for what-if runs: which model on which GPU, the replica configuration,
 * and the performance model with its calibration. Documented in docs/deployment-spec.md.
 *
 * @param model a model profile name or the path of a Hugging Face config.json
 * @param starvationBoundS a request starves when it waits longer than this before it is first scheduled
 * @param slo the objective runs of this deployment are judged by (bounds it sets override the workload's
 *     and the defaults; the command line's override it); null: none set here
 */
public record DeploymentSpec(
        String name,
        String model,
        String gpu,
        ReplicaSpec replica,
        PerfModelSpec perfModel,
        Double starvationBoundS,
        SloSpec slo) {

    /** A deployment without an SLO of its own. */
    public DeploymentSpec(
            String name,
            String model,
            String gpu,
            ReplicaSpec replica,
            PerfModelSpec perfModel,
            Double starvationBoundS) {
        this(name, model, gpu, replica, perfModel, starvationBoundS, null);
    }

    public DeploymentSpec {
        if (model == null || model.isBlank()) {
            throw new SpecException(
                    "model", "is required: a model profile name (e.g. llama-3.1-8b) or a config.json path");
        }
        if (gpu == null || gpu.isBlank()) {
            throw new SpecException("gpu", "is required: a GPU profile name (e.g. h100-sxm-80gb)");
        }
        replica = replica == null ? ReplicaSpec.defaults() : replica;
        perfModel = perfModel == null ? new PerfModelSpec.Roofline(null) : perfModel;
        starvationBoundS = starvationBoundS == null ? 60.0 : starvationBoundS;
        if (!(starvationBoundS > 0)) {
            throw new SpecException("starvation_bound_s", "must be > 0, got " + starvationBoundS);
        }
        name = name == null ? model + "-on-" + gpu : name;
    }
}

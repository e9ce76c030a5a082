package io.twinserve.experiments.regression;

import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.twin.cluster.ClusterSpec;
import io.twinserve.twin.deploy.DeploymentSpec;

/**
 * One regression scenario: a workload (a spec, or a trace file relative to the scenario) on a deployment,
 * or a cluster with its own traffic (workload paths relative to the scenario), simulated over a window.
 *
 * @param windowS the measurement window; null to run until every request finishes
 * @param preloadAdapters adapters start in host memory (default true)
 * @param adapterRank rank of adapters a trace names (default 16)
 */
public record RegressionScenario(
        String name,
        String description,
        Double windowS,
        WorkloadSpec workload,
        String workloadTrace,
        DeploymentSpec deployment,
        ClusterSpec cluster,
        Boolean preloadAdapters,
        Integer adapterRank) {

    public RegressionScenario {
        if (name == null || !name.matches("[a-z0-9][a-z0-9-]*")) {
            throw new SpecException("name", "must be lower-case letters, digits and dashes, got '" + name + "'");
        }
        if (cluster != null) {
            if (deployment != null || workload != null || workloadTrace != null) {
                throw new SpecException(
                        "cluster",
                        "a cluster scenario takes its traffic from the cluster spec; remove"
                                + " deployment, workload and workload_trace");
            }
            if (cluster.traffic().isEmpty()) {
                throw new SpecException("cluster.traffic", "is required in a cluster scenario");
            }
        } else {
            if ((workload == null) == (workloadTrace == null)) {
                throw new SpecException(
                        "workload", "give exactly one of workload (a spec) and workload_trace (a file)");
            }
            if (deployment == null) {
                throw new SpecException("deployment", "is required (or a cluster)");
            }
        }
        if (windowS != null && !(windowS > 0)) {
            throw new SpecException("window_s", "must be > 0, got " + windowS);
        }
        preloadAdapters = preloadAdapters == null ? Boolean.TRUE : preloadAdapters;
        adapterRank = adapterRank == null ? 16 : adapterRank;
    }
}

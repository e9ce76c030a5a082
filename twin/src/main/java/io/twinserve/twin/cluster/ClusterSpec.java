package io.twinserve.twin.cluster;

import io.twinserve.traces.spec.SpecException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A cluster for what-if runs: compute pools, the deployments they host, and the traffic each deployment
 * receives. Documented in docs/cluster-spec.md.
 */
public record ClusterSpec(
        String name, List<PoolSpec> pools, List<ClusterDeploymentSpec> deployments, List<TrafficSpec> traffic) {

    public ClusterSpec {
        if (pools == null || pools.isEmpty()) {
            throw new SpecException("pools", "is required: at least one compute pool");
        }
        if (deployments == null || deployments.isEmpty()) {
            throw new SpecException("deployments", "is required: at least one deployment");
        }
        pools = List.copyOf(pools);
        deployments = List.copyOf(deployments);
        traffic = traffic == null ? List.of() : List.copyOf(traffic);
        Set<String> poolNames = new HashSet<>();
        for (int i = 0; i < pools.size(); i++) {
            if (!poolNames.add(pools.get(i).name())) {
                throw new SpecException(
                        "pools[" + i + "].name", "'" + pools.get(i).name() + "' names two pools");
            }
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < deployments.size(); i++) {
            ClusterDeploymentSpec d = deployments.get(i);
            if (!names.add(d.name())) {
                throw new SpecException("deployments[" + i + "].name", "'" + d.name() + "' names two deployments");
            }
            for (int j = 0; j < d.pools().size(); j++) {
                if (!poolNames.contains(d.pools().get(j))) {
                    throw new SpecException(
                            "deployments[" + i + "].pools[" + j + "]",
                            "'" + d.pools().get(j) + "' is not a pool of this cluster; pools: "
                                    + String.join(
                                            ", ", poolNames.stream().sorted().toList()));
                }
            }
        }
        for (int i = 0; i < traffic.size(); i++) {
            TrafficSpec t = traffic.get(i);
            if (t.deployment() == null && deployments.size() > 1) {
                throw new SpecException(
                        "traffic[" + i + "].deployment", "is required when the cluster has several deployments");
            }
            if (t.deployment() != null && !names.contains(t.deployment())) {
                throw new SpecException(
                        "traffic[" + i + "].deployment",
                        "'" + t.deployment() + "' is not a deployment of this cluster; deployments: "
                                + String.join(", ", names.stream().sorted().toList()));
            }
        }
        name = name == null ? "cluster" : name;
    }

    /** The index of a traffic entry's deployment. */
    public int deploymentIndex(TrafficSpec t) {
        if (t.deployment() == null) {
            return 0;
        }
        for (int i = 0; i < deployments.size(); i++) {
            if (deployments.get(i).name().equals(t.deployment())) {
                return i;
            }
        }
        throw new IllegalArgumentException("no deployment " + t.deployment());
    }
}

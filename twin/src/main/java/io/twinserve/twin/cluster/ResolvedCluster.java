package io.twinserve.twin.cluster;

import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.perf.AllReduceModel;
import io.twinserve.twin.profile.GpuProfile;
import java.util.List;

/**
 * A cluster spec resolved against the profiles: every pool's GPU, and for every deployment the pools it
 * can run on with its replica resolved (memory checked) on that pool's GPU.
 */
public record ResolvedCluster(ClusterSpec spec, List<Pool> pools, List<Deployment> deployments) {

    /** A compute pool, its GPU and how its nodes' GPUs all-reduce. */
    public record Pool(int index, PoolSpec spec, GpuProfile gpu, AllReduceModel allReduce) {}

    /** A pool a deployment may use, with its replica resolved for that pool's GPU. */
    public record PoolOption(int pool, ResolvedReplica replica) {}

    /** A deployment and the pools it can run on, in order of preference. */
    public record Deployment(int index, ClusterDeploymentSpec spec, List<PoolOption> options) {}
}

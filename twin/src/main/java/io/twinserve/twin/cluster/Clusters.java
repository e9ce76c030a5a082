package io.twinserve.twin.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.perf.AllReduceModel;
import io.twinserve.twin.perf.Calibration;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ProfileException;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Reads cluster specs and resolves them, refusing clusters that cannot be placed with reasons. */
public final class Clusters {
    private static final ObjectMapper JSON = WorkloadSpecs.configure(new ObjectMapper());

    private Clusters() {}

    public static ClusterSpec load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such cluster file");
        }
        return parse(WorkloadSpecs.readText(file), file);
    }

    public static ClusterSpec parse(String yaml, Path file) {
        return WorkloadSpecs.parse(yaml, file, ClusterSpec.class);
    }

    /**
     * Resolves every deployment on every pool it may use and checks that the initial replicas of all
     * deployments can be placed together. Errors name the deployment and say why: tp larger than every
     * node, a model that does not fit the GPU even at the highest tp a node allows, more replicas than the
     * pools hold.
     */
    public static ResolvedCluster resolve(ClusterSpec spec, Profiles profiles) throws IOException {
        return resolve(spec, profiles, null);
    }

    /** As {@link #resolve(ClusterSpec, Profiles)}, with interconnect tables relative to {@code baseDir}. */
    public static ResolvedCluster resolve(ClusterSpec spec, Profiles profiles, Path baseDir) throws IOException {
        List<ResolvedCluster.Pool> pools = new ArrayList<>();
        for (int i = 0; i < spec.pools().size(); i++) {
            PoolSpec p = spec.pools().get(i);
            GpuProfile gpu;
            try {
                gpu = profiles.gpu(p.gpu());
            } catch (ProfileException e) {
                throw new SpecException("pools[" + i + "].gpu", e.getMessage());
            }
            AllReduceModel allReduce;
            try {
                allReduce = AllReduceModel.of(p.interconnect(), gpu, baseDir);
            } catch (SpecException e) {
                throw e.within(null, 0, "pools[" + i + "].interconnect");
            }
            pools.add(new ResolvedCluster.Pool(i, p, gpu, allReduce));
        }
        List<ResolvedCluster.Deployment> deployments = new ArrayList<>();
        for (int i = 0; i < spec.deployments().size(); i++) {
            deployments.add(resolveDeployment(i, spec.deployments().get(i), pools, profiles));
        }
        ResolvedCluster cluster = new ResolvedCluster(spec, List.copyOf(pools), List.copyOf(deployments));
        checkCapacity(cluster);
        return cluster;
    }

    private static ResolvedCluster.Deployment resolveDeployment(
            int index, ClusterDeploymentSpec d, List<ResolvedCluster.Pool> pools, Profiles profiles)
            throws IOException {
        String where = "deployments[" + index + "]";
        int tp = d.replica().tp();
        List<ResolvedCluster.PoolOption> options = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        for (String poolName : d.pools()) {
            ResolvedCluster.Pool pool = pools.stream()
                    .filter(p -> p.spec().name().equals(poolName))
                    .findFirst()
                    .orElseThrow();
            PoolSpec p = pool.spec();
            if (tp > p.gpusPerNode()) {
                reasons.add("pool " + p.name() + ": tp " + tp + " needs " + tp
                        + " GPUs in one node, but its nodes have " + p.gpusPerNode());
                continue;
            }
            try {
                options.add(new ResolvedCluster.PoolOption(pool.index(), resolveOn(d, pool, d.replica(), profiles)));
            } catch (InsufficientGpuMemoryException e) {
                reasons.add("pool " + p.name() + " (" + p.gpu() + "): " + e.getMessage()
                        + highestTpAdvice(d, pool, profiles));
            } catch (SpecException e) {
                throw e.within(null, 0, where);
            }
        }
        if (options.isEmpty()) {
            throw new SpecException(
                    where, "'" + d.name() + "' cannot be placed on any of its pools: " + String.join("; ", reasons));
        }
        return new ResolvedCluster.Deployment(index, d, List.copyOf(options));
    }

    private static ResolvedReplica resolveOn(
            ClusterDeploymentSpec d, ResolvedCluster.Pool pool, ReplicaSpec r, Profiles profiles) throws IOException {
        DeploymentSpec spec =
                new DeploymentSpec(d.name(), d.model(), pool.gpu().name(), r, d.perfModel(), d.starvationBoundS());
        Calibration cal = spec.perfModel().calibration() == null
                ? null
                : Deployments.calibration(spec.perfModel().calibration());
        return Deployments.resolve(spec, profiles, cal, pool.allReduce());
    }

    /** Whether the model would fit at the highest tp a node of the pool allows; says so either way. */
    private static String highestTpAdvice(ClusterDeploymentSpec d, ResolvedCluster.Pool pool, Profiles profiles)
            throws IOException {
        int highest = Integer.highestOneBit(pool.spec().gpusPerNode());
        if (highest <= d.replica().tp()) {
            return "; it does not fit even at tp " + d.replica().tp() + ", the highest a node of "
                    + pool.spec().gpusPerNode() + " GPUs allows";
        }
        try {
            resolveOn(d, pool, withTp(d.replica(), highest), profiles);
            return "; it fits at tp " + highest;
        } catch (InsufficientGpuMemoryException e) {
            return "; it does not fit even at tp " + highest + ", the highest a node of "
                    + pool.spec().gpusPerNode() + " GPUs allows";
        }
    }

    static ReplicaSpec withTp(ReplicaSpec r, int tp) {
        ObjectNode tree = JSON.valueToTree(r);
        tree.put("tp", tp);
        return JSON.convertValue(tree, ReplicaSpec.class);
    }

    /** The initial replicas of every deployment fit together, and each deployment's max fits on its own. */
    private static void checkCapacity(ResolvedCluster cluster) {
        Placement together = new Placement(cluster.pools());
        for (ResolvedCluster.Deployment d : cluster.deployments()) {
            String where = "deployments[" + d.index() + "].replicas";
            int alone = new Placement(cluster.pools()).room(d.options());
            ReplicaBounds b = d.spec().replicas();
            if (b.max() > alone) {
                throw new SpecException(
                        where,
                        String.format(
                                Locale.ROOT,
                                "'%s' asks for up to %d replicas of tp %d, but its pools (%s) hold at most %d",
                                d.spec().name(),
                                b.max(),
                                d.spec().replica().tp(),
                                String.join(", ", d.spec().pools()),
                                alone));
            }
            for (int i = 0; i < b.initial(); i++) {
                if (together.allocate(d.options()) == null) {
                    throw new SpecException(
                            where,
                            String.format(
                                    Locale.ROOT,
                                    "'%s' starts %d replicas of tp %d, but only %d fit in its pools (%s) beside the deployments before it",
                                    d.spec().name(),
                                    b.initial(),
                                    d.spec().replica().tp(),
                                    i,
                                    String.join(", ", d.spec().pools())));
                }
            }
        }
    }
}

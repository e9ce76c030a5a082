package io.twinserve.api.server.inference;

import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.perf.PerfModelSpec;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.router.RouterSpec;
import io.twinserve.twin.router.SessionStore;
import java.io.IOException;
import java.util.List;

/** Simulated deployments of Llama-3.1-8B on the calibrated 64 GB H100, for the runtime's tests. */
public final class SimulatedRuntimes {
    private SimulatedRuntimes() {}

    /**
     * {@code replicas} simulated replicas of {@code replica} under {@code name}, its clock {@code timeScale} times
     * faster than the wall's, no adapters, sessions in memory; a failed replica stays failed.
     */
    public static DeploymentRuntime of(
            String name, ReplicaSpec replica, int replicas, double timeScale, RouterSpec router, FaultSpec fault)
            throws IOException {
        return of(name, replica, replicas, timeScale, router, fault, RestartSpec.NEVER);
    }

    /** As above, a failed replica restarted as {@code restart} says. */
    public static DeploymentRuntime of(
            String name,
            ReplicaSpec replica,
            int replicas,
            double timeScale,
            RouterSpec router,
            FaultSpec fault,
            RestartSpec restart)
            throws IOException {
        DeploymentSpec d = new DeploymentSpec(
                name,
                "llama-3.1-8b",
                "h100-64gb",
                replica,
                new PerfModelSpec.Roofline("vllm-0.8.5-h100-64gb/llama-3.1-8b"),
                null);
        DeploymentRuntime.Settings s = new DeploymentRuntime.Settings(
                name, "simulated", replica, 600_000, replicas, timeScale, false, router, null, fault, restart);
        return DeploymentRuntime.simulated(
                s, Deployments.resolve(d, Profiles.builtIn()), null, List.of(), SessionStore.inMemory());
    }
}

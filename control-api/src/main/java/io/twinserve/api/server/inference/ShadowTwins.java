package io.twinserve.api.server.inference;

import io.twinserve.api.server.ApiException;
import io.twinserve.experiments.shadow.ShadowTwin;
import io.twinserve.experiments.validate.EngineProfileFolder;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.sched.SchedulerConfig;
import java.io.IOException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** How the server builds and reports a deployment's shadow twin (docs/serve.md, "Shadow mode"). */
final class ShadowTwins {
    private static final Logger LOG = LoggerFactory.getLogger(ShadowTwins.class);

    private ShadowTwins() {}

    /**
     * A live deployment's twin: the engine profile's model, GPU and performance model with the deployment's
     * replica settings, run with the live loop's own scheduler limits (its KV blocks, slots, batch bounds), so
     * that the two sides differ only in how long a step takes.
     */
    static ResolvedReplica live(DeploymentRuntime.Settings s, SchedulerConfig live, String profile) {
        EngineProfileFolder folder;
        try {
            folder = EngineProfileFolder.read(Path.of(profile), null);
        } catch (IllegalArgumentException | IOException e) {
            throw ApiException.badRequest(
                    "compute_config.shadow.profile",
                    "'compute_config.shadow.profile': " + e.getMessage().replace("--profile ", ""));
        }
        DeploymentSpec base = folder.deployment();
        DeploymentSpec spec = new DeploymentSpec(
                s.name(), base.model(), base.gpu(), s.replica(), base.perfModel(), base.starvationBoundS());
        ResolvedReplica r;
        try {
            try {
                r = Deployments.resolve(spec, folder.profiles());
            } catch (RuntimeException e) {
                // the profile's memory arithmetic need not hold the live settings: its step prices are what is used
                r = Deployments.resolve(folder.deployment(), folder.profiles());
            }
        } catch (IOException e) {
            throw ApiException.badRequest(
                    "compute_config.shadow.profile",
                    "'compute_config.shadow.profile': " + profile + ": " + e.getMessage());
        }
        return new ResolvedReplica(r.spec(), r.model(), r.gpu(), r.calibration(), r.memory(), r.perf(), live);
    }

    static void log(String deployment, ShadowTwin.Event e) {
        if (e.kind().equals("raised")) {
            LOG.warn(
                    "deployment '{}': shadow twin drift alarm raised at window {} (cause: {}): {}",
                    deployment,
                    e.window(),
                    e.cause(),
                    e.detail());
        } else {
            LOG.info(
                    "deployment '{}': shadow twin drift alarm cleared at window {}: {}",
                    deployment,
                    e.window(),
                    e.detail());
        }
    }
}

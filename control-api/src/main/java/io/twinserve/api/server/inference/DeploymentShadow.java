package io.twinserve.api.server.inference;

import io.twinserve.api.server.ApiException;
import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.sample.TokenLogprobs;
import io.twinserve.experiments.shadow.ReplicaTwin;
import io.twinserve.experiments.shadow.ShadowTwin;
import io.twinserve.experiments.validate.EngineProfileFolder;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.sched.SchedulerConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A deployment's shadow twin as the server runs it (docs/serve.md, "Shadow mode"): the twin, the deployment's
 * clock its windows are counted on (wall time, times time_scale when simulated), and the sink that reports each
 * request's first token and end.
 */
public final class DeploymentShadow {
    private static final Logger LOG = LoggerFactory.getLogger(DeploymentShadow.class);

    private final ShadowTwin twin;
    private final long originNs = System.nanoTime();
    private final double clockScale;

    /**
     * @param twinReplica the replica the twin simulates
     * @param ranks each adapter's rank (kept up to date by the deployment: the twin prices LoRA by rank)
     */
    DeploymentShadow(DeploymentRuntime.Settings s, ResolvedReplica twinReplica, Map<String, Integer> ranks) {
        this.clockScale = s.mode().equals("simulated") ? s.timeScale() : 1.0;
        int defaultRank = Math.max(1, twinReplica.scheduler().maxAdapterRank());
        this.twin =
                new ShadowTwin(s.shadow(), new ReplicaTwin(twinReplica, ranks, defaultRank), 0, e -> log(s.name(), e));
    }

    public ShadowTwin twin() {
        return twin;
    }

    /** The deployment's clock, on which the shadow twin's windows are counted: ns since it started. */
    public long clockNs() {
        return (long) ((System.nanoTime() - originNs) * clockScale);
    }

    /** Judges the windows that are due now; returns them. */
    public List<ShadowTwin.Window> evaluate() {
        return twin.evaluate(clockNs());
    }

    /** A tracked request's sink, told when the request moves to another replica (its first one failed). */
    interface Tracked extends TokenSink {
        void movedTo(int replica);
    }

    /**
     * Reports a request's arrival on replica {@code replica}; returns {@code sink} wrapped so that its first
     * token and its end reach the twin too.
     */
    TokenSink track(int replica, String adapter, int promptTokens, int maxTokens, TokenSink sink) {
        long ticket = twin.arrived(clockNs(), replica, adapter, promptTokens, maxTokens);
        return new Tracked() {
            private long firstTokenNs = -1;

            @Override
            public void movedTo(int other) {
                twin.moved(ticket, other, clockNs());
            }

            @Override
            public void onToken(int tokenId, String text) {
                onToken(tokenId, text, null);
            }

            @Override
            public void onToken(int tokenId, String text, TokenLogprobs logprobs) {
                if (firstTokenNs < 0) {
                    firstTokenNs = clockNs();
                }
                sink.onToken(tokenId, text, logprobs);
            }

            @Override
            public boolean rewind() {
                // run again from the start elsewhere: its first token is still to come
                if (!sink.rewind()) {
                    return false;
                }
                firstTokenNs = -1;
                return true;
            }

            @Override
            public void onFinished(Completion completion) {
                try {
                    twin.ended(ticket, firstTokenNs, clockNs(), completion.completionTokens());
                } finally {
                    // the caller hears of its end whatever the shadow does
                    sink.onFinished(completion);
                }
            }
        };
    }

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

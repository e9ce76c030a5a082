package io.twinserve.api.server.inference;

/**
 * What a deployment does when a replica's engine fails ({@code compute_config.restart}): after its requests were
 * moved to the other replicas, the replica is closed and built again in place (the same device, the deployment's
 * adapters registered again) after a pause that doubles with each restart, at most {@link #MAX_BACKOFF_MS}, as an
 * orchestrator restarts a crashed container. After {@code maxRestarts} restarts (counted over the deployment's
 * life; an update or restart of the deployment starts the count again) a replica that fails stays failed.
 *
 * @param maxRestarts restarts allowed per replica (0: a failed replica stays failed)
 * @param backoffMs the pause before the first restart, in ms; each later one waits twice the one before
 */
public record RestartSpec(int maxRestarts, long backoffMs) {
    /** Three restarts, the first after one second. */
    public static final RestartSpec DEFAULT = new RestartSpec(3, 1_000);

    /** No restarts. */
    public static final RestartSpec NEVER = new RestartSpec(0, 0);

    /** The longest pause before a restart, in ms. */
    public static final long MAX_BACKOFF_MS = 60_000;

    public RestartSpec {
        if (maxRestarts < 0 || backoffMs < 0 || backoffMs > MAX_BACKOFF_MS) {
            throw new IllegalArgumentException("compute_config.restart: max_restarts must be >= 0 and backoff_s from 0"
                    + " to " + MAX_BACKOFF_MS / 1000 + ", got " + maxRestarts + " and " + backoffMs / 1000.0 + " s");
        }
    }

    /** The pause before restart number {@code done + 1}, in ms. */
    public long backoffMs(int done) {
        return Math.min(MAX_BACKOFF_MS, backoffMs << Math.min(done, 20));
    }
}

package io.twinserve.api.server.inference;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restarts a deployment's failed replicas as its {@link RestartSpec} says. Told of a failure on the failed loop's
 * thread, once that loop's requests were moved to the other replicas, it closes the replica at once (a GPU's memory
 * is free for its successor), waits the spec's pause on a virtual thread, builds the replica again on the same
 * device, and hands it to the runtime, which registers the deployment's adapters on it and routes to it again
 * ({@link DeploymentRuntime#install}). A build that fails counts as a restart and is tried again while restarts are
 * left; a replica out of restarts stays failed, as does one whose deployment closed meanwhile.
 */
final class ReplicaRestarts {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaRestarts.class);

    /** Builds replica {@code index} for its run {@code run} (0: the first; the fault drill fails only that one). */
    @FunctionalInterface
    interface Builder {
        ReplicaHandle build(int index, int run);
    }

    private final DeploymentRuntime runtime;
    private final RestartSpec spec;
    private final Builder builder;
    /** Restarts begun per replica. */
    private final AtomicIntegerArray restarts;
    /** 1 while a replica's restart is waiting or building. */
    private final AtomicIntegerArray pending;
    /** Why a replica's last restart failed, or null. */
    private final AtomicReferenceArray<String> errors;

    ReplicaRestarts(DeploymentRuntime runtime, RestartSpec spec, Builder builder, int replicas) {
        this.runtime = runtime;
        this.spec = spec;
        this.builder = builder;
        this.restarts = new AtomicIntegerArray(replicas);
        this.pending = new AtomicIntegerArray(replicas);
        this.errors = new AtomicReferenceArray<>(replicas);
    }

    /** Restarts begun for replica {@code i} so far. */
    int restarts(int i) {
        return restarts.get(i);
    }

    /**
     * Whether replica {@code i}, failed, will be restarted: a restart is waiting or under way, or one is left and its
     * deployment still serves.
     */
    boolean restarting(int i) {
        return pending.get(i) == 1 || (!runtime.isClosed() && restarts.get(i) < spec.maxRestarts());
    }

    /** Why replica {@code i}'s last restart failed, or null when none did (or a later one served). */
    String error(int i) {
        return errors.get(i);
    }

    /**
     * Replica {@code failed}'s loop has failed and its requests have been moved (called on that loop's thread, which
     * ends after this): restart it if restarts are left.
     */
    void failed(ReplicaHandle failed) {
        if (!runtime.isClosed()) {
            schedule(failed, failed.index);
        }
    }

    private void schedule(ReplicaHandle failed, int i) {
        int done = restarts.get(i);
        if (done >= spec.maxRestarts()) {
            LOG.error(
                    "deployment '{}': replica {} failed and stays failed ({} restart(s) of {} used):"
                            + " update or restart the deployment",
                    runtime.name(),
                    i,
                    done,
                    spec.maxRestarts());
            return;
        }
        pending.set(i, 1);
        long pauseMs = spec.backoffMs(done);
        LOG.warn(
                "deployment '{}': replica {} failed; restart {} of {} in {} ms",
                runtime.name(),
                i,
                done + 1,
                spec.maxRestarts(),
                pauseMs);
        Thread.ofVirtual()
                .name("twinserve-restart-" + runtime.name() + "-" + i)
                .start(() -> restart(failed, i, pauseMs));
    }

    private void restart(ReplicaHandle failed, int i, long pauseMs) {
        try {
            // here, not on the failed loop's thread: closing a replica joins its loop's thread
            failed.close();
        } catch (RuntimeException e) {
            // a device that faulted may refuse to free its memory; the rebuild still tries
            LOG.warn("deployment '{}': replica {} failed to close after its failure", runtime.name(), i, e);
        }
        try {
            Thread.sleep(pauseMs);
        } catch (InterruptedException e) {
            pending.set(i, 0);
            return;
        }
        if (runtime.isClosed()) {
            pending.set(i, 0);
            return;
        }
        int run = restarts.incrementAndGet(i);
        ReplicaHandle fresh;
        try {
            fresh = builder.build(i, run);
        } catch (RuntimeException | Error e) {
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            errors.set(i, "restart " + run + " failed: " + why);
            LOG.error("deployment '{}': restart {} of replica {} failed", runtime.name(), run, i, e);
            pending.set(i, 0);
            if (!runtime.isClosed()) {
                schedule(failed, i);
            }
            return;
        }
        errors.set(i, null);
        // routed again from here on, unless the deployment closed while it was built
        boolean installed = runtime.install(fresh);
        pending.set(i, 0);
        if (installed) {
            LOG.info(
                    "deployment '{}': replica {} restarted (restart {} of {})",
                    runtime.name(),
                    i,
                    run,
                    spec.maxRestarts());
        } else {
            fresh.close();
        }
    }
}

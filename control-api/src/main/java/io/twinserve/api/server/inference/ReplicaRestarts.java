package io.twinserve.api.server.inference;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restarts a deployment's failed replicas as its {@link RestartSpec} says. Told of a failure on the failed loop's
 * thread, once that loop's requests were moved to the other replicas, it starts a thread that closes the replica (a
 * GPU's memory is then free for its successor), waits the spec's pause, builds the replica again on the same device
 * and hands it to the runtime, which registers the deployment's adapters on it and routes to it again ({@link
 * DeploymentRuntime#install}). A build or registration that fails counts as a restart and is tried again while
 * restarts are left; a replica out of restarts is closed and stays failed, as does one whose deployment closed.
 *
 * <p>Platform threads, not virtual ones: a CUDA context is current per OS thread, and a virtual thread may move to
 * another carrier thread in the middle of a build. {@link #stop} interrupts the pauses and waits for builds under
 * way, so that a deployment's close returns with its devices free.
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
    /** Restart threads of each replica not yet ended (counted, so that a restart begun by another one's end counts). */
    private final AtomicIntegerArray pending;
    /** Why a replica's last restart failed, or null. */
    private final AtomicReferenceArray<String> errors;

    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();

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
     * Whether replica {@code i}'s handle {@code h}, failed, will be restarted: a restart is waiting or under way, or
     * its failure is still being handled (its requests moving) with a restart left and the deployment serving.
     */
    boolean restarting(ReplicaHandle h) {
        int i = h.index;
        return pending.get(i) > 0 || (!h.failureHandled && !runtime.isClosed() && restarts.get(i) < spec.maxRestarts());
    }

    /** Why replica {@code i}'s last restart failed, or null when none did (or a later one served). */
    String error(int i) {
        return errors.get(i);
    }

    /**
     * Replica {@code failed}'s loop has failed and its requests have been moved (called on that loop's thread, which
     * ends after this; closing the replica joins it, so that happens on another thread): restart it if restarts are
     * left, otherwise close it.
     */
    void failed(ReplicaHandle failed) {
        try {
            if (!runtime.isClosed()) {
                schedule(failed);
            }
        } finally {
            failed.failureHandled = true;
        }
    }

    private void schedule(ReplicaHandle failed) {
        int i = failed.index;
        int done = restarts.get(i);
        if (done >= spec.maxRestarts()) {
            LOG.error(
                    "deployment '{}': replica {} failed and stays failed ({} restart(s) of {} used):"
                            + " update or restart the deployment",
                    runtime.name(),
                    i,
                    done,
                    spec.maxRestarts());
            // its device memory is of no use to it any more
            start(i, () -> closeQuietly(failed));
            return;
        }
        pending.incrementAndGet(i);
        long pauseMs = spec.backoffMs(done);
        LOG.warn(
                "deployment '{}': replica {} failed; restart {} of {} in {} ms",
                runtime.name(),
                i,
                done + 1,
                spec.maxRestarts(),
                pauseMs);
        start(i, () -> {
            try {
                restart(failed, pauseMs);
            } finally {
                pending.decrementAndGet(i);
            }
        });
    }

    private void start(int i, Runnable task) {
        Thread t = Thread.ofPlatform()
                .daemon(true)
                .name("twinserve-restart-" + runtime.name() + "-" + i)
                .unstarted(() -> {
                    try {
                        task.run();
                    } finally {
                        threads.remove(Thread.currentThread());
                    }
                });
        threads.add(t);
        t.start();
    }

    private void restart(ReplicaHandle failed, long pauseMs) {
        int i = failed.index;
        closeQuietly(failed);
        try {
            Thread.sleep(pauseMs);
        } catch (InterruptedException e) {
            // the deployment is closing
            return;
        }
        if (runtime.isClosed()) {
            return;
        }
        int run = restarts.incrementAndGet(i);
        ReplicaHandle fresh = null;
        try {
            fresh = builder.build(i, run);
            if (!runtime.install(fresh)) {
                // the deployment closed while it was built
                fresh.close();
                return;
            }
        } catch (RuntimeException | Error e) {
            if (fresh != null) {
                closeQuietly(fresh);
            }
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            errors.set(i, "restart " + run + " failed: " + why);
            LOG.error("deployment '{}': restart {} of replica {} failed", runtime.name(), run, i, e);
            if (!runtime.isClosed()) {
                schedule(failed);
            }
            return;
        }
        errors.set(i, null);
        LOG.info(
                "deployment '{}': replica {} restarted (restart {} of {})", runtime.name(), i, run, spec.maxRestarts());
    }

    private void closeQuietly(ReplicaHandle h) {
        try {
            h.close();
        } catch (RuntimeException e) {
            // a device that faulted may refuse to free its memory; the rebuild still tries
            LOG.warn("deployment '{}': replica {} failed to close after its failure", runtime.name(), h.index, e);
        }
    }

    /**
     * Ends every restart (the deployment is closing, {@link DeploymentRuntime#isClosed} already true): pauses are cut
     * short, and a build under way is waited for, so that its device is free when this returns.
     */
    void stop() {
        boolean interrupted = false;
        for (Thread t : Set.copyOf(threads)) {
            t.interrupt();
        }
        for (Thread t : Set.copyOf(threads)) {
            while (t.isAlive()) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}

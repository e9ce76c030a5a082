package io.twinserve.api.server.inference;

import io.twinserve.engine.live.StepObserver;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fault injection for drills ({@code compute_config.fault}): a pause after every engine step (the shadow twin's
 * drift alarm, timeouts), and one replica's loop failing on purpose after a number of steps (failover: the
 * deployment stops routing to it, its requests that had streamed nothing run again on the others, and it is
 * restarted as {@link RestartSpec} says).
 *
 * @param stepDelayMs the pause after every step of every replica, ms (0: none)
 * @param failReplica the replica that fails (with {@code failAfterSteps})
 * @param failAfterSteps the steps that replica runs before its next one fails (0: it never does)
 * @param repeat whether the replica fails again after each restart ({@link RestartSpec}); otherwise only its first
 *     run fails and its restart serves
 */
public record FaultSpec(long stepDelayMs, int failReplica, long failAfterSteps, boolean repeat) {
    /** No fault. */
    public static final FaultSpec NONE = new FaultSpec(0, 0, 0);

    /** A fault that fails the replica's first run only. */
    public FaultSpec(long stepDelayMs, int failReplica, long failAfterSteps) {
        this(stepDelayMs, failReplica, failAfterSteps, false);
    }

    public FaultSpec {
        if (stepDelayMs < 0 || failReplica < 0 || failAfterSteps < 0) {
            throw new IllegalArgumentException("compute_config.fault: step_delay_ms, fail_replica and"
                    + " fail_after_steps must be >= 0, got " + stepDelayMs + ", " + failReplica + ", "
                    + failAfterSteps);
        }
    }

    /** Only the pause after every step. */
    public static FaultSpec stepDelay(long stepDelayMs) {
        return new FaultSpec(stepDelayMs, 0, 0);
    }

    /** Whether a replica fails on purpose. */
    public boolean fails() {
        return failAfterSteps > 0;
    }

    /**
     * The observer of replica {@code replica}'s steps in its run {@code run} (0: the first, 1: after one restart)
     * that carries out these faults; it runs on the loop's thread.
     */
    StepObserver observer(int replica, int run) {
        StepObserver delay = StepDelay.of(stepDelayMs);
        if (!fails() || replica != failReplica || (run > 0 && !repeat)) {
            return delay;
        }
        AtomicLong steps = new AtomicLong();
        return (shape, stepNs, loadNs) -> {
            if (steps.incrementAndGet() > failAfterSteps) {
                throw new IllegalStateException("replica " + replica + " failed on purpose after " + failAfterSteps
                        + " steps (compute_config.fault.fail_after_steps)");
            }
            delay.onStep(shape, stepNs, loadNs);
        };
    }
}

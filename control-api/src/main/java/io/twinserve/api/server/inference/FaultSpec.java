package io.twinserve.api.server.inference;

import io.twinserve.engine.live.StepObserver;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fault injection for drills ({@code compute_config.fault}): a pause after every engine step (the shadow twin's
 * drift alarm, timeouts), and one replica's loop failing on purpose after a number of steps (failover: the
 * deployment stops routing to it and its requests that had streamed nothing run again on the others).
 *
 * @param stepDelayMs the pause after every step of every replica, ms (0: none)
 * @param failReplica the replica that fails (with {@code failAfterSteps})
 * @param failAfterSteps the steps that replica runs before its next one fails (0: it never does)
 */
public record FaultSpec(long stepDelayMs, int failReplica, long failAfterSteps) {
    /** No fault. */
    public static final FaultSpec NONE = new FaultSpec(0, 0, 0);

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

    /** The observer of replica {@code replica}'s steps that carries out these faults (it runs on the loop's thread). */
    StepObserver observer(int replica) {
        StepObserver delay = StepDelay.of(stepDelayMs);
        if (!fails() || replica != failReplica) {
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

package io.twinserve.api.server.inference;

import io.twinserve.engine.live.StepObserver;
import java.util.concurrent.locks.LockSupport;

/**
 * Fault injection ({@code compute_config.fault.step_delay_ms}): a pause after every engine step, on the loop's
 * thread, so that the deployment is slower than its engine by that much per step (drills of the shadow twin's
 * drift alarm and of timeouts).
 */
final class StepDelay {
    private StepDelay() {}

    /** The observer that pauses {@code stepDelayMs} after every step; one that does nothing for 0. */
    static StepObserver of(long stepDelayMs) {
        if (stepDelayMs <= 0) {
            return StepObserver.NONE;
        }
        long delayNs = stepDelayMs * 1_000_000L;
        return (shape, stepNs, loadNs) -> {
            long until = System.nanoTime() + delayNs;
            for (long left = delayNs; left > 0; left = until - System.nanoTime()) {
                LockSupport.parkNanos(left);
            }
        };
    }
}

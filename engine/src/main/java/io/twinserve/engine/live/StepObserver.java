package io.twinserve.engine.live;

import io.twinserve.twin.perf.StepShape;

/**
 * Watches the live loop's steps as they run, on the loop's thread, so that a caller can price each step's
 * shape with a twin performance model while it is still valid.
 */
@FunctionalInterface
public interface StepObserver {
    /**
     * One step, after its tokens were sampled and before the scheduler completes it.
     *
     * @param shape the step as the scheduler planned it; reused by the scheduler, so read it here
     * @param stepNs the step's wall time: adapter loads, the forward pass and sampling
     * @param adapterLoadNs the part of {@code stepNs} spent moving adapters into backend slots
     */
    void onStep(StepShape shape, long stepNs, long adapterLoadNs);

    StepObserver NONE = (shape, stepNs, adapterLoadNs) -> {};
}

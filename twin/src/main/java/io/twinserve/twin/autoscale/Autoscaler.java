package io.twinserve.twin.autoscale;

/**
 * A deployment's autoscaler: every {@link #intervalNs()} the simulator asks it to {@link #decide} whether
 * to add a replica, drain one or hold, and carries the decision out. One instance per deployment and run:
 * a policy may keep state between its ticks.
 */
public interface Autoscaler {

    /** What a tick decided. */
    enum Decision {
        HOLD,
        /** Start one more replica, ready after {@link #coldStartNs}, if free GPUs can hold it. */
        ADD_REPLICA,
        /** Stop routing to one ready replica and stop it once idle. */
        DRAIN_REPLICA
    }

    /** The autoscaler of {@code spec}, fresh for one run. */
    static Autoscaler of(AutoscalerSpec spec) {
        return switch (spec) {
            case AutoscalerSpec.Fixed f -> new FixedAutoscaler();
            case AutoscalerSpec.Reactive r -> new ReactiveAutoscaler(r);
        };
    }

    /** Time between ticks; 0 when it never ticks. */
    long intervalNs();

    /** The decision at the tick at {@code now}, from the deployment's state then. */
    Decision decide(ScaledDeployment deployment, long now);

    /** How long after its start a replica holding {@code weightBytesPerGpu} on each GPU is ready. */
    long coldStartNs(long weightBytesPerGpu);
}

package io.twinserve.twin.autoscale;

/** A fixed number of replicas: it never ticks. */
public final class FixedAutoscaler implements Autoscaler {

    @Override
    public long intervalNs() {
        return 0;
    }

    @Override
    public Decision decide(ScaledDeployment deployment, long now) {
        return Decision.HOLD;
    }

    @Override
    public long coldStartNs(long weightBytesPerGpu) {
        return 0;
    }
}

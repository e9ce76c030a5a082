package io.twinserve.twin.autoscale;

/**
 * Compares the TTFT of the last interval (or the age of the oldest unanswered request, whichever is
 * larger) and the waiting requests per ready replica with the thresholds, and adds or drains one replica
 * per tick. See {@link AutoscalerSpec.Reactive}.
 */
public final class ReactiveAutoscaler implements Autoscaler {
    private final AutoscalerSpec.Reactive spec;
    private final long intervalNs;
    private final long scaleDownAfterNs;
    /** Since when the deployment has been calm enough to shrink, or -1. */
    private long calmSinceNs = -1;

    public ReactiveAutoscaler(AutoscalerSpec.Reactive spec) {
        this.spec = spec;
        this.intervalNs = (long) (spec.intervalS() * 1e9);
        this.scaleDownAfterNs = (long) (spec.scaleDownAfterS() * 1e9);
    }

    @Override
    public long intervalNs() {
        return intervalNs;
    }

    @Override
    public long coldStartNs(long weightBytesPerGpu) {
        return spec.coldStartNs(weightBytesPerGpu);
    }

    @Override
    public Decision decide(ScaledDeployment d, long now) {
        double meanTtftNs = d.intervalMeanTtftNs();
        long oldestAgeNs = d.oldestUnansweredAgeNs(now);
        double pressureMs = Math.max(Double.isNaN(meanTtftNs) ? 0 : meanTtftNs, oldestAgeNs) / 1e6;
        int ready = d.readyReplicas();
        int starting = d.startingReplicas();
        int active = ready + starting;
        double waitingPerReplica = (double) d.waitingRequests() / Math.max(1, ready);
        double waitingPerActive = (double) d.waitingRequests() / Math.max(1, active);
        boolean ttftHigh = pressureMs > spec.targetTtftMs();
        boolean queueHigh = waitingPerReplica > spec.scaleUpQueue();
        if (ttftHigh || queueHigh) {
            calmSinceNs = -1;
            // while a replica is starting, only a queue that is long even counting it adds another
            boolean grow = starting == 0 || waitingPerActive > spec.scaleUpQueue();
            // draining replicas still hold their GPUs: they count against max until they stop
            return grow && d.holdingReplicas() < d.maxReplicas() ? Decision.ADD_REPLICA : Decision.HOLD;
        }
        if (pressureMs < spec.targetTtftMs() / 2 && waitingPerReplica < spec.scaleDownQueue()) {
            if (calmSinceNs < 0) {
                calmSinceNs = now;
            }
            if (now - calmSinceNs >= scaleDownAfterNs && starting == 0 && ready > d.minReplicas()) {
                calmSinceNs = now;
                return Decision.DRAIN_REPLICA;
            }
            return Decision.HOLD;
        }
        calmSinceNs = -1;
        return Decision.HOLD;
    }
}

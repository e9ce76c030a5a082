package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.traces.Request;
import io.twinserve.twin.sim.RunOptions;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The reactive autoscaler under a load ramp: bounds, cold starts, draining, and the pools' limits. */
class AutoscalerTest {
    private static final long SECOND = 1_000_000_000L;
    private static final double WEIGHT_LOAD_GB_PER_S = 4.0;
    private static final double STARTUP_S = 7.0;

    private static final String AUTOSCALER =
            """
      {type: reactive, interval_s: 5, target_ttft_ms: 1000, scale_up_queue: 4, scale_down_queue: 0.5,
       scale_down_after_s: 10, weight_load_gb_per_s: %s, startup_s: %s}
      """.formatted(WEIGHT_LOAD_GB_PER_S, STARTUP_S).strip();

    private static ResolvedCluster cluster(int min, int max) throws IOException {
        return ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb, gpus_per_node: 8}]
        deployments:
          - {name: d, model: llama-3.1-8b, pools: [p], replicas: {min: %d, max: %d}, router: {type: least_loaded},
             autoscaler: %s}
        """.formatted(min, max, AUTOSCALER));
    }

    /**
     * Arrivals at a rate rising linearly from 1/s to {@code peakPerS} over {@code rampS} seconds, then
     * nothing.
     */
    private static List<Request> ramp(double peakPerS, double rampS) {
        List<Request> out = new ArrayList<>();
        double t = 0;
        long id = 0;
        while (t < rampS) {
            double rate = 1 + (peakPerS - 1) * t / rampS;
            out.add(Request.of(id, (long) (t * SECOND), null, 1000 + (int) (id % 5) * 200, 200 + (int) (id % 3) * 100));
            id++;
            t += 1 / rate;
        }
        return out;
    }

    private static ClusterSummary.DeploymentSummary run(ResolvedCluster cluster, List<Request> requests, long windowNs)
            throws IOException {
        return ClusterTestSupport.run(cluster, requests, RunOptions.defaults().withWindowNs(windowNs))
                .summary()
                .deployments()
                .get(0);
    }

    /** GPU-holding replicas at instant {@code s}, from each replica's start and stop. */
    private static int holdingAt(ClusterSummary.DeploymentSummary d, double s) {
        int n = 0;
        for (ClusterSummary.ReplicaSummary r : d.replicaDetails()) {
            if (r.startedS() <= s && (r.stoppedS() < 0 || r.stoppedS() > s)) {
                n++;
            }
        }
        return n;
    }

    @Test
    void replicaCountStaysWithinMinAndMaxUnderALoadRamp() throws IOException {
        ClusterSummary.DeploymentSummary d = run(cluster(2, 4), ramp(120, 120), 400 * SECOND);
        ClusterSummary.Replicas replicas = d.replicas();

        assertThat(replicas.scaleUps()).as("the ramp needs more replicas").isPositive();
        assertThat(replicas.initial()).isEqualTo(2);
        assertThat(replicas.max()).isBetween(3, 4);
        assertThat(replicas.min()).isGreaterThanOrEqualTo(2);
        assertThat(replicas.mean()).isBetween(2.0, 4.0);
        assertThat(d.timeline())
                .isNotEmpty()
                .allSatisfy(sample -> assertThat(sample.replicas())
                        .as("replicas at %s s", sample.timeS())
                        .isBetween(2, 4));
        for (ClusterSummary.ReplicaSummary r : d.replicaDetails()) {
            assertThat(holdingAt(d, r.startedS()))
                    .as("replicas holding GPUs at %s s", r.startedS())
                    .isBetween(2, 4);
        }
    }

    @Test
    void aScaleUpWhileReplicasDrainStillKeepsToMax() throws IOException {
        ResolvedCluster cluster = ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb, gpus_per_node: 8}]
        deployments:
          - {name: d, model: llama-3.1-8b, pools: [p], replicas: {min: 1, max: 3}, router: {type: least_loaded},
             autoscaler: {type: reactive, interval_s: 2, target_ttft_ms: 1000, scale_up_queue: 4,
                          scale_down_queue: 0.5, scale_down_after_s: 4, weight_load_gb_per_s: 4, startup_s: 5}}
        """);
        // busy, then calm but with long answers (draining replicas stay busy a while), then busy again
        List<Request> requests = new ArrayList<>();
        long id = 0;
        for (double t = 0; t < 40; t += 1.0 / 50) {
            requests.add(Request.of(id++, (long) (t * SECOND), null, 1500, 200));
        }
        for (double t = 40; t < 52; t += 0.5) {
            requests.add(Request.of(id++, (long) (t * SECOND), null, 100, 3000));
        }
        for (double t = 52; t < 90; t += 1.0 / 50) {
            requests.add(Request.of(id++, (long) (t * SECOND), null, 1500, 200));
        }

        ClusterSummary.DeploymentSummary d = run(cluster, requests, 300 * SECOND);

        assertThat(d.replicas().scaleDowns()).isPositive();
        assertThat(d.replicaDetails())
                .as("scaled up again after a scale-down")
                .anyMatch(r -> d.replicaDetails().stream()
                        .anyMatch(o -> o.stoppedS() >= 0 && o.readyS() < r.startedS() && r.startedS() > 40));
        assertThat(d.replicas().max())
                .as("replicas holding GPUs, draining ones included")
                .isLessThanOrEqualTo(3);
        assertThat(d.timeline())
                .allSatisfy(sample -> assertThat(sample.replicas())
                        .as("replicas at %s s", sample.timeS())
                        .isBetween(1, 3));
        for (ClusterSummary.ReplicaSummary r : d.replicaDetails()) {
            assertThat(holdingAt(d, r.startedS()))
                    .as("replicas holding GPUs at %s s", r.startedS())
                    .isBetween(1, 3);
        }
    }

    @Test
    void aScaledUpReplicaIsReadyExactlyOneColdStartAfterItStarted() throws IOException {
        ResolvedCluster cluster = cluster(1, 4);
        long weightBytesPerGpu =
                cluster.deployments().get(0).options().get(0).replica().memory().weightBytes();
        double coldStartS = weightBytesPerGpu / (WEIGHT_LOAD_GB_PER_S * 1e9) + STARTUP_S;

        ClusterSummary.DeploymentSummary d = run(cluster, ramp(120, 120), 400 * SECOND);

        List<ClusterSummary.ReplicaSummary> scaledUp =
                d.replicaDetails().stream().filter(r -> r.startedS() > 0).toList();
        assertThat(scaledUp).hasSize(d.replicas().scaleUps()).isNotEmpty();
        assertThat(scaledUp)
                .allSatisfy(r -> assertThat(r.readyS() - r.startedS())
                        .as("cold start of replica %d", r.id())
                        .isCloseTo(coldStartS, within(2e-6)));
        assertThat(d.replicas().coldStartS()).isCloseTo(coldStartS, within(2e-6));
        ClusterSummary.ReplicaSummary initial = d.replicaDetails().get(0);
        assertThat(initial.startedS()).isZero();
        assertThat(initial.readyS()).as("initial replicas start warm").isZero();
    }

    @Test
    void replicasDrainAndStopDownToMinWhenTheLoadStops() throws IOException {
        ClusterSummary.DeploymentSummary d = run(cluster(1, 4), ramp(120, 120), 600 * SECOND);

        assertThat(d.replicas().scaleUps()).isPositive();
        assertThat(d.replicas().scaleDowns()).isEqualTo(d.replicas().scaleUps());
        List<ClusterSummary.ReplicaSummary> stopped =
                d.replicaDetails().stream().filter(r -> r.stoppedS() >= 0).toList();
        assertThat(stopped).hasSize(d.replicaDetails().size() - 1);
        assertThat(stopped).allSatisfy(r -> {
            assertThat(r.stoppedS()).isGreaterThan(r.readyS());
            assertThat(r.stoppedS()).isLessThanOrEqualTo(600);
        });
        assertThat(d.timeline().getLast().replicas()).isEqualTo(1);
        assertThat(d.requestsUnfinished()).isZero();
    }

    @Test
    void aStoppedReplicasAdaptersLeaveTheCountOfAdaptersInSlots() throws IOException {
        // the ramp's requests over 4 adapters: every replica that served some holds them in its slots
        List<Request> requests = new ArrayList<>();
        for (Request r : ramp(120, 120)) {
            requests.add(new Request(
                    r.id(),
                    r.arrivalNs(),
                    null,
                    Request.NO_TURN,
                    "a" + r.id() % 4,
                    r.promptTokens(),
                    r.outputTokens(),
                    0,
                    null));
        }
        ClusterSummary.DeploymentSummary d = run(cluster(1, 4), requests, 600 * SECOND);

        assertThat(d.replicas().scaleDowns()).isPositive();
        ClusterSummary.Sample last = d.timeline().getLast();
        assertThat(last.replicas()).isEqualTo(1);
        // one replica left, which holds at most the 4 adapters there are
        assertThat(last.adaptersInSlots()).isBetween(1L, 4L);
    }

    @Test
    void refusesScaleUpsBeyondThePoolsFreeGpusInsteadOfPlacingThem() throws IOException {
        // 4 GPUs: 'fixed' holds 2 of them for good, so 'elastic' (max 4 on its own) never gets more than 2
        ResolvedCluster cluster = ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb, gpus_per_node: 4}]
        deployments:
          - {name: fixed, model: llama-3.1-8b, pools: [p], replicas: {initial: 2}}
          - {name: elastic, model: llama-3.1-8b, pools: [p], replicas: {min: 1, max: 4}, autoscaler: %s}
        traffic: [{deployment: elastic, workload: none.yaml}]
        """.formatted(AUTOSCALER));
        ClusterResult result = new ClusterSimulator(cluster)
                .run(
                        List.of(new ClusterSimulator.Traffic(1, ClusterTestSupport.trace(ramp(120, 120)), Map.of())),
                        RunOptions.defaults().withWindowNs(300 * SECOND));
        ClusterSummary.DeploymentSummary elastic =
                result.summary().deployments().get(1);

        assertThat(elastic.replicas().scaleUpsRefused()).isPositive();
        assertThat(elastic.replicas().max()).isEqualTo(2);
        assertThat(elastic.replicaDetails()).hasSizeLessThanOrEqualTo(2);
        assertThat(result.summary().pools().get(0).peakGpusHeld()).isEqualTo(4);
    }
}

package io.twinserve.api.server.inference;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micronaut.context.annotation.Context;
import io.micronaut.scheduling.annotation.Scheduled;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-replica gauges, refreshed every second: requests waiting, running and in flight, and which
 * adapters are resident in the replica's GPU slots and in its CPU tier ({@code twinserve_adapter_resident}
 * = 1 with tags deployment, replica, adapter and tier = gpu | cpu), whether the replica serves
 * ({@code twinserve_replica_up}: 0 once its loop has stopped after a failure, when it is routed nothing until a
 * restart replaces it) and its restarts so far ({@code twinserve_replica_restarts}).
 */
// created with the context, so its scheduled task never builds it while the context is closing
@Context
public final class ReplicaGauges {
    private final DeploymentManager deployments;
    private final MultiGauge waiting;
    private final MultiGauge running;
    private final MultiGauge inFlight;
    private final MultiGauge resident;
    private final MultiGauge up;
    private final MultiGauge restarts;

    public ReplicaGauges(DeploymentManager deployments, MeterRegistry registry) {
        this.deployments = deployments;
        this.waiting = MultiGauge.builder("twinserve_queue_waiting")
                .description("requests waiting in a replica's queue")
                .register(registry);
        this.running = MultiGauge.builder("twinserve_queue_running")
                .description("requests in a replica's running batch")
                .register(registry);
        this.inFlight = MultiGauge.builder("twinserve_requests_in_flight")
                .description("requests routed to a replica and not finished")
                .register(registry);
        this.resident = MultiGauge.builder("twinserve_adapter_resident")
                .description("1 for each adapter resident on a replica's GPU slots (tier=gpu) or CPU tier (tier=cpu)")
                .register(registry);
        this.up = MultiGauge.builder("twinserve_replica_up")
                .description(
                        "1 while a replica serves, 0 once its loop has stopped after a failure (routed nothing until"
                                + " a restart replaces it)")
                .register(registry);
        this.restarts = MultiGauge.builder("twinserve_replica_restarts")
                .description("restarts of a replica begun after failures (compute_config.restart)")
                .register(registry);
    }

    @Scheduled(fixedDelay = "1s", initialDelay = "1s")
    public void refresh() {
        List<MultiGauge.Row<?>> w = new ArrayList<>();
        List<MultiGauge.Row<?>> r = new ArrayList<>();
        List<MultiGauge.Row<?>> f = new ArrayList<>();
        List<MultiGauge.Row<?>> a = new ArrayList<>();
        List<MultiGauge.Row<?>> u = new ArrayList<>();
        List<MultiGauge.Row<?>> rs = new ArrayList<>();
        for (DeploymentRuntime d : deployments.all()) {
            for (int i = 0; i < d.replicaCount(); i++) {
                Tags tags = Tags.of("deployment", d.name(), "replica", Integer.toString(i));
                // one run of the replica for every figure: a restart may replace it meanwhile
                var view = d.view(i);
                var res = view.residency();
                w.add(MultiGauge.Row.of(tags, res.waiting()));
                r.add(MultiGauge.Row.of(tags, res.running()));
                f.add(MultiGauge.Row.of(tags, view.inFlight()));
                u.add(MultiGauge.Row.of(tags, view.state().equals("serving") ? 1 : 0));
                rs.add(MultiGauge.Row.of(tags, view.restarts()));
                for (String name : res.inSlots()) {
                    a.add(MultiGauge.Row.of(tags.and("adapter", name, "tier", "gpu"), 1));
                }
                for (String name : res.inHost()) {
                    a.add(MultiGauge.Row.of(tags.and("adapter", name, "tier", "cpu"), 1));
                }
            }
        }
        waiting.register(w, true);
        running.register(r, true);
        inFlight.register(f, true);
        resident.register(a, true);
        up.register(u, true);
        restarts.register(rs, true);
    }
}

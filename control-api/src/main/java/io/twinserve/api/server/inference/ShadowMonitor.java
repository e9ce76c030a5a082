package io.twinserve.api.server.inference;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micronaut.context.annotation.Context;
import io.micronaut.scheduling.annotation.Scheduled;
import io.twinserve.experiments.shadow.ShadowTwin;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Judges every deployment's shadow twin once a second (the windows that are due) and exports the latest
 * judged window: {@code twinserve_shadow_predicted}, {@code twinserve_shadow_measured} and {@code
 * twinserve_shadow_relative_error} per deployment and figure (throughput in tokens/s, ttft_p50 and itl_mean in
 * ms), {@code twinserve_shadow_drift_alarm} (1 while raised) and the counter {@code
 * twinserve_shadow_drift_alarms} (alarms raised).
 */
@Context
public final class ShadowMonitor {
    private static final Logger LOG = LoggerFactory.getLogger(ShadowMonitor.class);

    private final DeploymentManager deployments;
    private final MeterRegistry registry;
    private final MultiGauge predicted;
    private final MultiGauge measured;
    private final MultiGauge error;
    private final MultiGauge alarm;
    private final Map<String, Counter> raised = new ConcurrentHashMap<>();
    private final Map<ShadowTwin, Long> counted = new java.util.WeakHashMap<>();

    public ShadowMonitor(DeploymentManager deployments, MeterRegistry registry) {
        this.deployments = deployments;
        this.registry = registry;
        this.predicted = MultiGauge.builder("twinserve_shadow_predicted")
                .description("the shadow twin's figure for the latest judged window (tokens/s or ms)")
                .register(registry);
        this.measured = MultiGauge.builder("twinserve_shadow_measured")
                .description("the deployment's measured figure for the latest judged window (tokens/s or ms)")
                .register(registry);
        this.error = MultiGauge.builder("twinserve_shadow_relative_error")
                .description("(predicted - measured) / measured for the latest judged window")
                .register(registry);
        this.alarm = MultiGauge.builder("twinserve_shadow_drift_alarm")
                .description("1 while the shadow twin's drift alarm is raised")
                .register(registry);
    }

    @Scheduled(fixedDelay = "1s", initialDelay = "1s")
    public synchronized void evaluate() {
        List<MultiGauge.Row<?>> p = new ArrayList<>();
        List<MultiGauge.Row<?>> m = new ArrayList<>();
        List<MultiGauge.Row<?>> e = new ArrayList<>();
        List<MultiGauge.Row<?>> a = new ArrayList<>();
        for (DeploymentRuntime d : deployments.all()) {
            DeploymentShadow deploymentShadow = d.shadow();
            if (deploymentShadow == null) {
                continue;
            }
            ShadowTwin shadow = deploymentShadow.twin();
            try {
                deploymentShadow.evaluate();
            } catch (RuntimeException ex) {
                // one deployment's twin failing must not stop the others' nor the gauges
                LOG.warn("deployment '{}': the shadow twin could not judge a window: {}", d.name(), ex.toString());
            }
            Tags tags = Tags.of("deployment", d.name());
            ShadowTwin.Window w = shadow.latestJudged();
            if (w != null) {
                for (String f : ShadowTwin.JUDGED) {
                    Tags ft = tags.and("figure", f);
                    double pv = w.predicted().figure(f);
                    double mv = w.measured().figure(f);
                    if (!Double.isNaN(pv)) {
                        p.add(MultiGauge.Row.of(ft, pv));
                    }
                    if (!Double.isNaN(mv)) {
                        m.add(MultiGauge.Row.of(ft, mv));
                    }
                    Double err = w.errors().get(f);
                    if (err != null) {
                        e.add(MultiGauge.Row.of(ft, err));
                    }
                }
            }
            a.add(MultiGauge.Row.of(tags, shadow.alarm().active() ? 1 : 0));
            long total = shadow.alarmsRaised();
            long before = counted.getOrDefault(shadow, 0L);
            if (total > before) {
                raised.computeIfAbsent(
                                d.name(),
                                n -> Counter.builder("twinserve_shadow_drift_alarms")
                                        .tag("deployment", n)
                                        .description("shadow twin drift alarms raised")
                                        .register(registry))
                        .increment(total - before);
                counted.put(shadow, total);
            }
        }
        predicted.register(p, true);
        measured.register(m, true);
        error.register(e, true);
        alarm.register(a, true);
    }
}

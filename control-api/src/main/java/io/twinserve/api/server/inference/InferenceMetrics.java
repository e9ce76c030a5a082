package io.twinserve.api.server.inference;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** Request and token counters and latency histograms per deployment, for Prometheus. */
@Singleton
public final class InferenceMetrics {
    /** The deployment tag of a call refused before it named an existing deployment (no key, no model, ...). */
    public static final String NO_DEPLOYMENT = "";

    private final MeterRegistry registry;
    private final Map<String, Meters> byDeployment = new ConcurrentHashMap<>();
    private final Map<String, Counter> requests = new ConcurrentHashMap<>();

    record Meters(Counter promptTokens, Counter completionTokens, Timer ttft, Timer itl, DistributionSummary latency) {}

    public InferenceMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    Meters of(String deployment) {
        return byDeployment.computeIfAbsent(
                deployment,
                d -> new Meters(
                        Counter.builder("twinserve_prompt_tokens")
                                .tag("deployment", d)
                                .description("prompt tokens served")
                                .register(registry),
                        Counter.builder("twinserve_completion_tokens")
                                .tag("deployment", d)
                                .description("tokens generated")
                                .register(registry),
                        Timer.builder("twinserve_ttft")
                                .tag("deployment", d)
                                .description("arrival to first token, queue included")
                                .publishPercentileHistogram()
                                .minimumExpectedValue(Duration.ofNanos(100_000))
                                .maximumExpectedValue(Duration.ofSeconds(120))
                                .register(registry),
                        Timer.builder("twinserve_inter_token_latency")
                                .tag("deployment", d)
                                .description("gap between streamed tokens")
                                .publishPercentileHistogram()
                                .minimumExpectedValue(Duration.ofNanos(10_000))
                                .maximumExpectedValue(Duration.ofSeconds(10))
                                .register(registry),
                        DistributionSummary.builder("twinserve_request_latency_ms")
                                .tag("deployment", d)
                                .description("arrival to last token, ms")
                                .register(registry)));
    }

    void request(String deployment, int status) {
        requests.computeIfAbsent(
                        deployment + "|" + status,
                        k -> Counter.builder("twinserve_requests")
                                .tag("deployment", deployment)
                                .tag("status", Integer.toString(status))
                                .description("inference requests by deployment and HTTP status, refusals included")
                                .register(registry))
                .increment();
    }

    void finished(String deployment, int promptTokens, int completionTokens, long ttftNs, long latencyNs) {
        Meters m = of(deployment);
        m.promptTokens().increment(promptTokens);
        m.completionTokens().increment(completionTokens);
        if (ttftNs >= 0) {
            m.ttft().record(ttftNs, TimeUnit.NANOSECONDS);
        }
        m.latency().record(latencyNs / 1e6);
    }

    void tokenGap(Meters m, long gapNs) {
        m.itl().record(gapNs, TimeUnit.NANOSECONDS);
    }
}

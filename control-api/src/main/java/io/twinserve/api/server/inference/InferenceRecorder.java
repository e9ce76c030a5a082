package io.twinserve.api.server.inference;

import io.micronaut.context.annotation.Value;
import io.twinserve.api.server.auth.Principal;
import io.twinserve.api.server.interactions.Interaction;
import io.twinserve.api.server.interactions.InteractionWriter;
import io.twinserve.api.server.usage.UsageStats;
import io.twinserve.engine.live.Completion;
import jakarta.inject.Singleton;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Locale;

/**
 * What an inference call leaves behind: its Prometheus metrics, its usage counts per key, deployment and
 * adapter, and its interaction record (with its text when the server or the deployment retains text).
 */
@Singleton
public final class InferenceRecorder {
    private final InferenceMetrics metrics;
    private final UsageStats usage;
    private final InteractionWriter interactions;
    private final boolean retainText;

    public InferenceRecorder(
            InferenceMetrics metrics,
            UsageStats usage,
            InteractionWriter interactions,
            @Value("${twinserve.retain-text:false}") boolean retainText) {
        this.metrics = metrics;
        this.usage = usage;
        this.interactions = interactions;
        this.retainText = retainText;
    }

    /** The meters of a deployment, looked up once per request rather than once per token. */
    InferenceMetrics.Meters meters(String deployment) {
        return metrics.of(deployment);
    }

    /** The gap between two tokens of one request. */
    void tokenGap(InferenceMetrics.Meters meters, long gapNs) {
        metrics.tokenGap(meters, gapNs);
    }

    /**
     * Records a finished call. Called before the caller can see the end, so that once a caller has its
     * answer its interaction is queued ({@link InteractionWriter#flush} then covers it).
     *
     * @param status the HTTP status the call ends with (499: cancelled by the client or the server timeout)
     */
    void finished(
            CompletionRequest call,
            Principal principal,
            String id,
            OffsetDateTime startedAt,
            long latencyNs,
            int status,
            Completion done) {
        String deployment = call.deployment().name();
        metrics.request(deployment, status);
        metrics.finished(deployment, done.promptTokens(), done.completionTokens(), done.ttftNs(), latencyNs);
        usage.record(principal.keyId(), deployment, call.adapter(), done.promptTokens(), done.completionTokens());
        boolean retain = retainText || call.deployment().settings().retainText();
        interactions.record(new Interaction(
                id,
                call.chat() ? "chat.completions" : "completions",
                deployment,
                call.adapter(),
                principal.keyId(),
                done.promptTokens(),
                done.completionTokens(),
                done.ttftNs() < 0 ? null : done.ttftNs() / 1e6,
                latencyNs / 1e6,
                status,
                done.reason().name().toLowerCase(Locale.ROOT),
                startedAt,
                OffsetDateTime.now(ZoneOffset.UTC),
                retain ? call.promptText() : null,
                retain ? done.text() : null));
    }
}

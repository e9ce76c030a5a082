package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** A deployment's shadow twin: its windows, predicted against measured, and its drift alarm. */
public record ShadowReport(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String deployment,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "whether compute_config.shadow is on")
        boolean enabled,

        @Schema(nullable = true, description = "the shadow settings in force (compute_config.shadow with defaults)")
        ShadowSettings settings,

        @Schema(nullable = true, description = "the deployment's clock, s since it started (time_scale applied)")
        Double clockS,

        @Schema(nullable = true, description = "requests reported and not yet ended")
        Integer inFlight,

        @Schema(nullable = true) ShadowAlarm alarm,

        @Schema(nullable = true, description = "alarms raised since the deployment started")
        Long alarmsRaised,

        @Schema(description = "the latest evaluated windows, oldest first (?windows=N, default 60)")
        List<ShadowWindow> windows,

        @Schema(description = "alarms raised and cleared, oldest first")
        List<ShadowEvent> events) {

    /** compute_config.shadow, with its defaults. */
    public record ShadowSettings(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            double windowS,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            int warmupWindows,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            double driftBound,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            int driftWindows,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            double settleS,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            int minRequests,

            @Schema(nullable = true, description = "a live deployment's engine profile folder")
            String profile) {}

    /** One side's figures over a window. */
    public record ShadowFigures(
            @Schema(
                    requiredMode = Schema.RequiredMode.REQUIRED,
                    description = "requests of the window with a first token")
            int requests,

            @Schema(nullable = true, description = "output tokens generated in the window, per second")
            Double outputTokensPerS,

            @Schema(nullable = true) Double ttftP50Ms,
            @Schema(nullable = true) Double ttftP90Ms,

            @Schema(nullable = true, description = "mean of each request's mean gap between tokens")
            Double itlMeanMs) {}

    /** (predicted - measured) / measured per judged figure; null where not judged. */
    public record ShadowErrors(
            @Schema(nullable = true) Double throughput,
            @Schema(nullable = true) Double ttftP50,
            @Schema(nullable = true) Double itlMean) {}

    /** The window's workload, as the cause of a drift is judged. */
    public record ShadowWorkload(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            double requestsPerS,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            double meanPromptTokens,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            double meanOutputTokens,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "distinct adapters")
            int adapters) {}

    /** One evaluated window. */
    public record ShadowWindow(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            long index,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            double startS,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            double endS,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "enough requests to be judged")
            boolean judged,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "some judged figure out of bound")
            boolean drifting,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            ShadowFigures measured,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            ShadowFigures predicted,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            ShadowErrors errors,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            ShadowWorkload workload) {}

    /** The drift alarm now. */
    public record ShadowAlarm(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            boolean active,

            @Schema(nullable = true, description = "the first drifting window of the alarm")
            Long sinceWindow,

            @Schema(
                    nullable = true,
                    allowableValues = {"load", "lengths", "adapter_mix", "engine", "profile"})
            String cause,

            @Schema(nullable = true, description = "the cause and the figures, in a sentence")
            String detail) {}

    /** An alarm raised or cleared. */
    public record ShadowEvent(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            long window,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "the window's end, s")
            double atS,

            @Schema(
                    requiredMode = Schema.RequiredMode.REQUIRED,
                    allowableValues = {"raised", "cleared"})
            String kind,

            @Schema(nullable = true) String cause,

            @Schema(requiredMode = Schema.RequiredMode.REQUIRED)
            String detail) {}
}

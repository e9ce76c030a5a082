package io.twinserve.api.server;

import java.util.Locale;

/**
 * Who may read {@code /metrics} ({@code twinserve.metrics.exposure}, {@code TWINSERVE_METRICS_EXPOSURE}):
 * its series name deployments and adapters, so by default only operators and admins.
 */
public enum MetricsExposure {
    /** A key with the operator or admin role (the default). */
    OPERATORS,
    /** Anyone, without a key (a Prometheus that cannot send one, on a private network). */
    PUBLIC,
    /** Nobody: {@code /metrics} answers 404. */
    OFF;

    public static final String PROPERTY = "twinserve.metrics.exposure";

    /** Reads the setting, refusing anything else by name so a typo cannot open the endpoint. */
    public static MetricsExposure parse(String s) {
        String v = s == null ? "" : s.strip().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "", "operators" -> OPERATORS;
            case "public" -> PUBLIC;
            case "off" -> OFF;
            default ->
                throw new IllegalArgumentException(PROPERTY + " (TWINSERVE_METRICS_EXPOSURE): '" + s
                        + "' is not an exposure; expected operators, public or off");
        };
    }
}

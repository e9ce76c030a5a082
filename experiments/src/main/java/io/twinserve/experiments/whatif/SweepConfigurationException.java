package io.twinserve.experiments.whatif;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A configuration of a sweep failed for a reason other than not fitting (a spec its settings made invalid,
 * say): names the settings; the cause says what went wrong.
 */
public final class SweepConfigurationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Map<String, String> settings;

    public SweepConfigurationException(Map<String, String> settings, Exception cause) {
        super("configuration " + settings + ": " + cause.getMessage(), cause);
        this.settings = Collections.unmodifiableMap(new LinkedHashMap<>(settings));
    }

    /** The settings of the configuration that failed. */
    public Map<String, String> settings() {
        return settings;
    }

    @Override
    public synchronized Exception getCause() {
        return (Exception) super.getCause();
    }
}

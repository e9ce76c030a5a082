package io.twinserve.api.cli;

/**
 * A main that does nothing: {@code bench startup}'s baseline, the JVM's own start and exit on the
 * application jar's class path, without the command line.
 */
public final class StartupProbe {
    private StartupProbe() {}

    public static void main(String[] args) {
        // nothing: the cost measured is the JVM's
    }
}

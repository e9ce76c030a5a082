package io.twinserve.api.cli;

import io.twinserve.traces.Provenance;
import picocli.CommandLine;

/** Reports the jar's version and the JVM running it. */
final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        return new String[] {
            "twinserve " + Provenance.currentVersion(),
            "JVM " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"
        };
    }
}

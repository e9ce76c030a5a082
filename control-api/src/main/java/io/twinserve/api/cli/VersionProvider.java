package io.twinserve.api.cli;

import picocli.CommandLine;

/** Reports the jar's version and the JVM running it. */
final class VersionProvider implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    String v = TwinserveCommand.class.getPackage().getImplementationVersion();
    return new String[] {
      "twinserve " + (v == null ? "development build" : v),
      "JVM " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")"
    };
  }
}

package io.twinserve.api.cli;

import java.io.IOException;

/** The version and source commit recorded in datasets and models. */
final class Provenance {
  private Provenance() {}

  static String version() {
    String v = TwinserveCommand.class.getPackage().getImplementationVersion();
    return v == null ? "development build" : v;
  }

  /**
   * The commit the jar was built from: {@code io/twinserve/api/git.properties}, written at build time by
   * git-commit-id-maven-plugin (with "-dirty" when the checkout had uncommitted changes then), so that the
   * provenance names the code that ran whatever the checkout holds by the time it runs; else
   * {@code TWINSERVE_COMMIT} from the environment (container images built without the .git folder); else
   * "unknown".
   */
  static String commit() {
    String built = built(Provenance.class.getResourceAsStream("/io/twinserve/api/git.properties"));
    if (built != null) {
      return built;
    }
    String env = System.getenv("TWINSERVE_COMMIT");
    return env != null && !env.isBlank() ? env : "unknown";
  }

  /** The commit a git.properties stream records, "-dirty" appended when it says so; null when it records none. */
  static String built(java.io.InputStream in) {
    if (in == null) {
      return null;
    }
    java.util.Properties p = new java.util.Properties();
    try (in) {
      p.load(in);
    } catch (IOException e) {
      return null;
    }
    String id = p.getProperty("git.commit.id.full", "").trim();
    if (!id.matches("[0-9a-f]{40}")) {
      return null;
    }
    return id + (Boolean.parseBoolean(p.getProperty("git.dirty", "false").trim()) ? "-dirty" : "");
  }
}

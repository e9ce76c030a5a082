package io.twinserve.api.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** The version and source commit recorded in datasets and models. */
final class Provenance {
  private Provenance() {}

  static String version() {
    String v = TwinserveCommand.class.getPackage().getImplementationVersion();
    return v == null ? "development build" : v;
  }

  /**
   * The commit of the checkout the jar was built in ({@code git rev-parse HEAD}, with "-dirty" when it
   * has uncommitted changes), else {@code TWINSERVE_COMMIT} from the environment (set it in container
   * images), else "unknown".
   */
  static String commit() {
    String env = System.getenv("TWINSERVE_COMMIT");
    try {
      Path jar = Path.of(TwinserveCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path dir = jar.getParent() == null ? Path.of(".") : jar.getParent();
      String head = git(dir, "rev-parse", "HEAD");
      if (head != null && head.matches("[0-9a-f]{40}")) {
        String status = git(dir, "status", "--porcelain", "--untracked-files=no");
        return head + (status != null && !status.isBlank() ? "-dirty" : "");
      }
    } catch (Exception e) {
      // no git or no checkout: fall back below
    }
    return env != null && !env.isBlank() ? env : "unknown";
  }

  private static String git(Path dir, String... args) throws IOException, InterruptedException {
    String[] cmd = new String[args.length + 3];
    cmd[0] = "git";
    cmd[1] = "-C";
    cmd[2] = dir.toString();
    System.arraycopy(args, 0, cmd, 3, args.length);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
    p.getOutputStream().close();
    String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
      return null;
    }
    return text;
  }
}

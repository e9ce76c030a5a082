import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * The twin's light-load and grid scenarios timed on two builds in one JVM: each jar in its own class
 * loader, scenarios in turns (before first, then after first), medians and the before/after ratio. Run by
 * scripts/bench/twin-before-after.sh, which builds the "before" jar from a commit.
 */
public final class TwinBeforeAfter {
  private static final double[][] LIGHT = {
    {0.1, 0.05, 0.025}, {0.025, 0.0125, 0.00625}, {0.0125, 0.00625, 0.003125}
  };
  private static final double[][] GRID = {
    {0.1, 0.05, 0.025}, {0.4, 0.2, 0.1}, {0.0125, 0.00625, 0.003125}, {0.8, 0.4, 0.1}, {0.05, 0.025, 0.003125}
  };
  private static final int[] GRID_SERVED = {8, 16, 32, 64, 96, 128, 160, 192, 256, 320, 384};

  /** One build's TwinBenchmark, called through reflection (both builds have measure(int, double[], double)). */
  record Build(String name, Object bench, Method measure, Method simulateMs, Method arrivals) {
    static Build load(String name, Path jar) throws Exception {
      ClassLoader loader = new URLClassLoader(name, new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
      Class<?> c = Class.forName("io.twinserve.experiments.bench.TwinBenchmark", true, loader);
      Class<?> timing = Class.forName("io.twinserve.experiments.bench.TwinBenchmark$Timing", true, loader);
      return new Build(name, c.getConstructor().newInstance(),
          c.getMethod("measure", int.class, double[].class, double.class),
          timing.getMethod("simulateMs"), timing.getMethod("arrivals"));
    }

    double[] run(int served, double[] rates, double durationS) throws Exception {
      Object t = measure.invoke(bench, served, rates, durationS);
      return new double[] {(double) simulateMs.invoke(t), (long) arrivals.invoke(t)};
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: TwinBeforeAfter BEFORE.jar AFTER.jar [REPEAT]");
      System.exit(2);
    }
    Build before = Build.load("before", Path.of(args[0]));
    Build after = Build.load("after", Path.of(args[1]));
    int repeat = args.length > 2 ? Integer.parseInt(args[2]) : 7;
    System.out.printf(Locale.ROOT, "bench twin before/after: JVM %s, %d cores, before %s, after %s%n",
        Runtime.version(), Runtime.getRuntime().availableProcessors(), args[0], args[1]);
    // warm-up: both builds' hot loops compiled before anything is timed
    for (int w = 0; w < 2; w++) {
      for (int served : new int[] {96, 384}) {
        for (double[] r : LIGHT) {
          before.run(served, r, 3600);
          after.run(served, r, 3600);
        }
      }
    }
    System.out.println("light load (at most 0.1 req/s per adapter), one simulated hour, median of " + repeat + " runs each:");
    System.out.println("| adapters | per-adapter rates (req/s) | arrivals | before | after | speed-up |");
    System.out.println("| --- | --- | --- | --- | --- | --- |");
    for (int served : new int[] {96, 384}) {
      for (double[] r : LIGHT) {
        double[] b = new double[repeat];
        double[] a = new double[repeat];
        long arrivals = 0;
        for (int i = 0; i < repeat; i++) {
          boolean beforeFirst = i % 2 == 0;
          if (beforeFirst) {
            b[i] = before.run(served, r, 3600)[0];
          }
          double[] x = after.run(served, r, 3600);
          a[i] = x[0];
          arrivals = (long) x[1];
          if (!beforeFirst) {
            b[i] = before.run(served, r, 3600)[0];
          }
        }
        Arrays.sort(b);
        Arrays.sort(a);
        System.out.printf(Locale.ROOT, "| %d | %s | %,d | %.1f ms | %.1f ms | %.2fx |%n", served,
            Arrays.toString(r).replace(", ", " / ").replace("[", "").replace("]", ""), arrivals, b[repeat / 2],
            a[repeat / 2], b[repeat / 2] / a[repeat / 2]);
      }
    }
    double sb = 0;
    double sa = 0;
    int turn = 0;
    for (int served : GRID_SERVED) {
      for (double[] r : GRID) {
        double tb;
        double ta;
        if (turn++ % 2 == 0) {
          tb = before.run(served, r, 3600)[0];
          ta = after.run(served, r, 3600)[0];
        } else {
          ta = after.run(served, r, 3600)[0];
          tb = before.run(served, r, 3600)[0];
        }
        sb += tb;
        sa += ta;
      }
    }
    System.out.printf(Locale.ROOT, "study grid (%d scenarios, one run each, in turns): before %.0f ms, after %.0f ms, %.2fx%n",
        GRID_SERVED.length * GRID.length, sb, sa, sb / sa);
  }
}

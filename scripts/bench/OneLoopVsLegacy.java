import io.twinserve.experiments.bench.TwinBenchmark;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * The one loop against the single-replica loop it replaced, on one scheduler (see one-loop-vs-legacy.sh):
 * light-load scenarios, the median of REPEAT runs per loop in turns (legacy first, then one loop first), and
 * every grid scenario once per loop in turns. Both loops run the same steps (the step counts are compared).
 */
public final class OneLoopVsLegacy {
  public static void main(String[] args) throws Exception {
    TwinBenchmark b = new TwinBenchmark();
    int reps = Integer.parseInt(args[0]);
    for (int i = 0; i < 3; i++) {
      for (int s : TwinBenchmark.LIGHT_SERVED) {
        for (double[] r : TwinBenchmark.LIGHT_RATES) {
          b.simulate(s, r, 3600, true);
          b.simulate(s, r, 3600, false);
        }
      }
    }
    System.out.println("| adapters | per-adapter rates (req/s) | the replaced loop | the one loop | ratio |");
    System.out.println("| --- | --- | --- | --- | --- |");
    for (int s : TwinBenchmark.LIGHT_SERVED) {
      for (double[] r : TwinBenchmark.LIGHT_RATES) {
        double[] legacy = new double[reps];
        double[] one = new double[reps];
        for (int i = 0; i < reps; i++) {
          if (i % 2 == 0) {
            legacy[i] = b.simulate(s, r, 3600, true).ms();
            one[i] = b.simulate(s, r, 3600, false).ms();
          } else {
            one[i] = b.simulate(s, r, 3600, false).ms();
            legacy[i] = b.simulate(s, r, 3600, true).ms();
          }
        }
        Arrays.sort(legacy);
        Arrays.sort(one);
        System.out.printf(Locale.ROOT, "| %d | %s | %.1f ms | %.1f ms | %.3f |%n", s, rates(r), legacy[reps / 2],
            one[reps / 2], one[reps / 2] / legacy[reps / 2]);
      }
    }
    double legacyTotal = 0;
    double oneTotal = 0;
    int turn = 0;
    int sameSteps = 0;
    List<Double> ratios = new ArrayList<>();
    for (int s : TwinBenchmark.SERVED) {
      for (double[] r : TwinBenchmark.RATES) {
        TwinBenchmark.Compared l;
        TwinBenchmark.Compared o;
        if (turn++ % 2 == 0) {
          l = b.simulate(s, r, 3600, true);
          o = b.simulate(s, r, 3600, false);
        } else {
          o = b.simulate(s, r, 3600, false);
          l = b.simulate(s, r, 3600, true);
        }
        legacyTotal += l.ms();
        oneTotal += o.ms();
        ratios.add(o.ms() / l.ms());
        if (l.summary().steps() == o.summary().steps()) {
          sameSteps++;
        } else {
          System.out.printf(Locale.ROOT, "  %d adapters at %s: %,d steps (replaced loop) against %,d (one loop), %.0f against"
              + " %.0f ms%n", s, rates(r), l.summary().steps(), o.summary().steps(), l.ms(), o.ms());
        }
      }
    }
    Collections.sort(ratios);
    System.out.printf(Locale.ROOT, "| grid total (55 scenarios, one run each) | | %.0f ms | %.0f ms | %.3f |%n", legacyTotal,
        oneTotal, oneTotal / legacyTotal);
    System.out.printf(Locale.ROOT, "grid ratios %.2f to %.2f (median %.3f); the same step count in %d of %d scenarios%n",
        ratios.get(0), ratios.get(ratios.size() - 1), ratios.get(ratios.size() / 2), sameSteps, ratios.size());
  }

  private static String rates(double[] r) {
    return r[0] + " / " + r[1] + " / " + r[2];
  }
}

package io.twinserve.experiments.shadow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.perf.PerfModelSpec;
import io.twinserve.twin.profile.Profiles;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shadow twin against a "live" side that is the twin itself run continuously over the whole workload:
 * windows replayed from an empty replica after their warm-up agree with it, so no alarm; the same side made
 * slower from some window on raises the alarm after drift_windows windows and names the engine, or the load
 * or lengths when those moved with the drift; back in bound, the alarm clears.
 */
class ShadowTwinTest {
    static final long S = 1_000_000_000L;
    static ReplicaTwin twin;

    @BeforeAll
    static void replica() throws Exception {
        ReplicaSpec r = new ReplicaSpec(1, null, 0.9, 8, 16, 32, 2048, 2048, 16, true, false, null, null);
        ResolvedReplica resolved = Deployments.resolve(
                new DeploymentSpec(
                        "shadow-test",
                        "llama-3.1-8b",
                        "h100-64gb",
                        r,
                        new PerfModelSpec.Roofline("vllm-0.8.5-h100-64gb/llama-3.1-8b"),
                        null),
                Profiles.builtIn());
        twin = new ReplicaTwin(resolved, Map.of(), 16);
    }

    /** Poisson arrivals over {@code windows} windows of 10 s, rate and output lengths per window. */
    static List<ShadowTwin.Arrival> workload(int windows, IntPredicate busier, IntPredicate longer, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<ShadowTwin.Arrival> out = new ArrayList<>();
        double t = 0;
        long id = 0;
        while (true) {
            int w = (int) (t / 10);
            if (w >= windows) {
                break;
            }
            double rate = busier.test(w) ? 12 : 4;
            t += -Math.log(1 - rng.nextDouble()) / rate;
            if (t >= windows * 10.0) {
                break;
            }
            int out0 = 20 + rng.nextInt(200);
            out.add(new ShadowTwin.Arrival(
                    id++,
                    "a" + rng.nextInt(6),
                    (long) (t * S),
                    50 + rng.nextInt(400),
                    longer.test((int) (t / 10)) ? 3 * out0 : out0));
        }
        return out;
    }

    record Run(ShadowTwin shadow, List<ShadowTwin.Event> events) {}

    /**
     * Feeds the shadow the live side's outcomes: the twin over the whole workload, its times after
     * {@code slowFrom} seconds stretched by {@code slow} (first token and the gaps after it).
     */
    static Run feed(List<ShadowTwin.Arrival> arrivals, double slowFrom, double slow) {
        List<ShadowTwin.Outcome> live = twin.simulate(arrivals);
        List<ShadowTwin.Event> events = new ArrayList<>();
        ShadowSpec spec = new ShadowSpec(10, 2, 0.25, 3, 30, 5, null);
        long origin = 1_000 * S;
        ShadowTwin shadow = new ShadowTwin(spec, twin, origin, events::add);
        record Report(long at, boolean arrival, int i) {}
        List<Report> reports = new ArrayList<>();
        long[] first = new long[arrivals.size()];
        long[] end = new long[arrivals.size()];
        for (int i = 0; i < arrivals.size(); i++) {
            ShadowTwin.Arrival a = arrivals.get(i);
            ShadowTwin.Outcome o = live.get(i);
            double f = a.arrivalNs() >= slowFrom * S ? slow : 1;
            first[i] = a.arrivalNs() + (long) ((o.firstTokenNs() - a.arrivalNs()) * f);
            end[i] = first[i] + (long) ((o.finishNs() - o.firstTokenNs()) * f);
            reports.add(new Report(a.arrivalNs(), true, i));
            reports.add(new Report(end[i], false, i));
        }
        reports.sort((x, y) -> Long.compare(x.at(), y.at()));
        long[] tickets = new long[arrivals.size()];
        for (Report r : reports) {
            shadow.evaluate(origin + r.at());
            ShadowTwin.Arrival a = arrivals.get(r.i());
            if (r.arrival()) {
                tickets[r.i()] = shadow.arrived(origin + r.at(), 0, a.adapter(), a.promptTokens(), a.outputTokens());
            } else {
                shadow.ended(tickets[r.i()], origin + first[r.i()], origin + end[r.i()], a.outputTokens());
            }
        }
        shadow.evaluate(origin + reports.get(reports.size() - 1).at() + 60 * S);
        return new Run(shadow, events);
    }

    @Test
    void agreesWithTheSameReplicaRunWithoutBreaksAndRaisesNoAlarm() {
        Run run = feed(workload(12, w -> false, w -> false, 1), Double.MAX_VALUE, 1);
        List<ShadowTwin.Window> judged = run.shadow().windows().stream()
                .filter(ShadowTwin.Window::judged)
                .toList();
        assertThat(judged).hasSizeGreaterThanOrEqualTo(11);
        for (ShadowTwin.Window w : judged) {
            assertThat(w.measured().requests())
                    .isEqualTo(w.predicted().requests())
                    .isGreaterThan(20);
            // an empty replica after two windows of warm-up is where the continuous run was
            assertThat(Math.abs(w.errors().get("throughput")))
                    .as("window %d", w.index())
                    .isLessThan(0.05);
            assertThat(Math.abs(w.errors().get("itl_mean")))
                    .as("window %d", w.index())
                    .isLessThan(0.05);
            assertThat(w.drifting()).isFalse();
        }
        assertThat(run.events()).isEmpty();
        assertThat(run.shadow().alarm().active()).isFalse();
    }

    @Test
    void aSlowerEngineRaisesTheAlarmAfterDriftWindowsAndNamesTheEngine() {
        Run run = feed(workload(14, w -> false, w -> false, 2), 60, 1.8);
        List<ShadowTwin.Window> ws = run.shadow().windows();
        assertThat(ws.stream().filter(w -> w.index() < 6 && w.judged()).allMatch(w -> !w.drifting()))
                .isTrue();
        assertThat(ws.stream().filter(w -> w.index() >= 6 && w.judged()).allMatch(ShadowTwin.Window::drifting))
                .isTrue();
        assertThat(ws.stream().filter(w -> w.index() >= 6 && w.judged()).count())
                .isEqualTo(8);
        assertThat(run.events()).hasSize(1);
        ShadowTwin.Event e = run.events().get(0);
        assertThat(e.kind()).isEqualTo("raised");
        // windows 6, 7, 8 drift: raised when window 8 is judged
        assertThat(e.window()).isEqualTo(8);
        assertThat(e.cause()).isEqualTo("engine");
        assertThat(e.detail()).contains("itl_mean predicted").contains("the engine itself is slower or faster");
        assertThat(run.shadow().alarm()).isEqualTo(new ShadowTwin.Alarm(true, 6, "engine", e.detail()));
        assertThat(run.shadow().alarmsRaised()).isEqualTo(1);
    }

    @Test
    void theDriftNamesTheLoadOrTheLengthsWhenTheyMovedWithIt() {
        Run load = feed(workload(14, w -> w >= 6, w -> false, 3), 60, 1.8);
        assertThat(load.events()).first().satisfies(e -> {
            assertThat(e.cause()).isEqualTo("load");
            assertThat(e.detail()).contains("requests/s against");
        });
        Run lengths = feed(workload(14, w -> false, w -> w >= 6, 4), 60, 1.8);
        assertThat(lengths.events()).first().satisfies(e -> {
            assertThat(e.cause()).isEqualTo("lengths");
            assertThat(e.detail()).contains("mean prompt");
        });
    }

    @Test
    void theAlarmClearsInTheFirstWindowBackInBound() {
        // slow from 60 s to the end of window 10 only: a fresh shadow whose live side recovers
        List<ShadowTwin.Arrival> arrivals = workload(16, w -> false, w -> false, 5);
        List<ShadowTwin.Arrival> head =
                arrivals.stream().filter(a -> a.arrivalNs() < 110 * S).toList();
        List<ShadowTwin.Arrival> tail =
                arrivals.stream().filter(a -> a.arrivalNs() >= 110 * S).toList();
        // one run where windows 6-10 are slow and 11-15 are not: stretch only those arrivals' times
        Run run = feedSlowBetween(head, tail, 60, 110, 1.8);
        assertThat(run.events()).extracting(ShadowTwin.Event::kind).containsExactly("raised", "cleared");
        assertThat(run.shadow().alarm().active()).isFalse();
    }

    private static Run feedSlowBetween(
            List<ShadowTwin.Arrival> head, List<ShadowTwin.Arrival> tail, double from, double to, double slow) {
        List<ShadowTwin.Arrival> all = new ArrayList<>(head);
        all.addAll(tail);
        // arrivals past 'to' keep their times: the slow factor applies from 'from' to 'to' only
        List<ShadowTwin.Outcome> live = twin.simulate(all);
        List<ShadowTwin.Event> events = new ArrayList<>();
        long origin = 0;
        ShadowTwin shadow = new ShadowTwin(new ShadowSpec(10, 2, 0.25, 3, 30, 5, null), twin, origin, events::add);
        List<long[]> reports = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            ShadowTwin.Arrival a = all.get(i);
            ShadowTwin.Outcome o = live.get(i);
            double f = a.arrivalNs() >= from * S && a.arrivalNs() < to * S ? slow : 1;
            long first = a.arrivalNs() + (long) ((o.firstTokenNs() - a.arrivalNs()) * f);
            long end = first + (long) ((o.finishNs() - o.firstTokenNs()) * f);
            reports.add(new long[] {a.arrivalNs(), 1, i, 0, 0});
            reports.add(new long[] {end, 0, i, first, end});
        }
        reports.sort((x, y) -> Long.compare(x[0], y[0]));
        long[] tickets = new long[all.size()];
        for (long[] r : reports) {
            shadow.evaluate(r[0]);
            ShadowTwin.Arrival a = all.get((int) r[2]);
            if (r[1] == 1) {
                tickets[(int) r[2]] = shadow.arrived(r[0], 0, a.adapter(), a.promptTokens(), a.outputTokens());
            } else {
                shadow.ended(tickets[(int) r[2]], r[3], r[4], a.outputTokens());
            }
        }
        shadow.evaluate(reports.get(reports.size() - 1)[0] + 60 * S);
        return new Run(shadow, events);
    }

    @Test
    void aWindowWaitsForItsRequestsUntilSettleThenIsJudgedWithoutThem() {
        List<ShadowTwin.Event> events = new ArrayList<>();
        ShadowTwin shadow = new ShadowTwin(new ShadowSpec(10, 0, 0.25, 3, 30, 1, null), twin, 0, events::add);
        long a = shadow.arrived(1 * S, 0, "a0", 100, 50);
        long b = shadow.arrived(2 * S, 0, "a0", 100, 50);
        shadow.ended(a, 1_100_000_000L, 3 * S, 50);
        // window 0 ended at 10 s, but b is running: not judged before 10 + 30 s
        assertThat(shadow.evaluate(20 * S)).isEmpty();
        assertThat(shadow.inFlight()).isEqualTo(1);
        List<ShadowTwin.Window> judged = shadow.evaluate(41 * S);
        assertThat(judged).hasSize(1);
        assertThat(judged.get(0).measured().requests()).isEqualTo(1);
        // b's end after its window was judged changes nothing
        shadow.ended(b, 2_100_000_000L, 45 * S, 50);
        assertThat(shadow.evaluate(100 * S)).isEmpty();
        assertThat(shadow.inFlight()).isZero();
    }

    /**
     * A request moved to another replica (its first failed before serving it) is replayed there: two long prompts
     * that arrive together, on one twin replica, prefill one after the other; moved apart, side by side.
     */
    @Test
    void aMovedRequestIsReplayedOnTheReplicaThatServedIt() {
        double[] p90 = new double[3];
        for (int moved = 0; moved < 3; moved++) {
            ShadowTwin shadow = new ShadowTwin(new ShadowSpec(10, 0, 0.25, 3, 30, 1, null), twin, 0, e -> {});
            long a = shadow.arrived(1 * S, 0, "a0", 2000, 10);
            long b = shadow.arrived(1 * S, 0, "a1", 2000, 10);
            if (moved == 1) {
                shadow.moved(b, 1, 1 * S);
            } else if (moved == 2) {
                // moved 2 s after it arrived: its predicted TTFT counts the wait, as the measured one does
                shadow.moved(b, 1, 3 * S);
            }
            shadow.ended(a, 1_200_000_000L, 2 * S, 10);
            shadow.ended(b, moved == 2 ? 3_300_000_000L : 1_300_000_000L, moved == 2 ? 4 * S : 2 * S, 10);
            List<ShadowTwin.Window> judged = shadow.evaluate(11 * S);
            assertThat(judged).hasSize(1);
            p90[moved] = judged.get(0).predicted().ttftP90Ms();
        }
        assertThat(p90[1]).as("the second prompt no longer waits for the first").isLessThan(p90[0] * 0.8);
        assertThat(p90[2]).as("the wait before the move").isGreaterThan(2000);
    }

    @Test
    void theSpecNamesTheFieldThatIsWrong() throws Exception {
        ObjectMapper json = new ObjectMapper();
        assertThat(ShadowSpec.parse(json.readTree("false"))).isNull();
        assertThat(ShadowSpec.parse(json.readTree("true"))).isEqualTo(ShadowSpec.defaults());
        assertThat(ShadowSpec.parse(json.readTree("{\"window_s\": 5, \"profile\": \"/p\"}")))
                .isEqualTo(new ShadowSpec(5, 2, 0.25, 3, 300, 5, "/p"));
        assertThatThrownBy(() -> ShadowSpec.parse(json.readTree("{\"window\": 5}")))
                .hasMessageContaining("compute_config.shadow.window is not a known key")
                .hasMessageContaining("window_s");
        assertThatThrownBy(() -> ShadowSpec.parse(json.readTree("{\"drift_bound\": -1}")))
                .hasMessage(
                        "compute_config.shadow.drift_bound: expected a relative error above 0 (0.25 = 25%), got -1.0");
        assertThatThrownBy(() -> ShadowSpec.parse(json.readTree("{\"drift_windows\": 1.5}")))
                .hasMessage("compute_config.shadow.drift_windows: expected a whole number, got 1.5");
        assertThatThrownBy(() -> ShadowSpec.parse(json.readTree("[1]")))
                .hasMessageContaining("compute_config.shadow: expected true, false or an object");
    }

    @Test
    void totalVariationOfAdapterMixes() {
        assertThat(DriftAlarm.totalVariation(Map.of("a", 1, "b", 1), Map.of("a", 5, "b", 5)))
                .isZero();
        assertThat(DriftAlarm.totalVariation(Map.of("a", 1), Map.of("b", 3))).isEqualTo(1.0);
        assertThat(DriftAlarm.totalVariation(Map.of("a", 3, "b", 1), Map.of("a", 1, "b", 1)))
                .isCloseTo(0.25, org.assertj.core.data.Offset.offset(1e-12));
    }
}

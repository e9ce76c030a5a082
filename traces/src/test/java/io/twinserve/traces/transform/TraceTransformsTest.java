package io.twinserve.traces.transform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Streaming transformations: window, sampling, time scaling, caps and adapter assignment. */
class TraceTransformsTest {

    private static TraceReader of(List<Request> rs) {
        Iterator<Request> it = rs.iterator();
        return () -> it.hasNext() ? it.next() : null;
    }

    private static List<Request> run(TraceTransforms t, List<Request> in) throws IOException {
        List<Request> out = new ArrayList<>();
        try (TraceReader r = t.apply(of(in))) {
            Request q;
            while ((q = r.next()) != null) {
                out.add(q);
            }
        }
        return out;
    }

    private static List<Request> everySecond(int n) {
        List<Request> rs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rs.add(Request.of(i, i * 1_000_000_000L, null, 100 + i, 10 + i));
        }
        return rs;
    }

    @Test
    void windowKeepsItsRequestsAndShiftsThemToZeroThenTimeScaleDividesTimes() throws IOException {
        TraceTransforms t = new TraceTransforms(10.0, 20.0, null, 2.0, null, null, null, 0);
        List<Request> out = run(t, everySecond(100));
        assertThat(out).extracting(Request::id).containsExactly(10L, 11L, 12L, 13L, 14L, 15L, 16L, 17L, 18L, 19L);
        assertThat(out.get(0).arrivalNs()).isZero();
        assertThat(out.get(9).arrivalNs()).isEqualTo(4_500_000_000L);
    }

    @Test
    void samplingKeepsAboutTheFractionDeterministically() throws IOException {
        TraceTransforms t = new TraceTransforms(null, null, 0.3, null, null, null, null, 5);
        List<Request> a = run(t, everySecond(20000));
        List<Request> b = run(t, everySecond(20000));
        assertThat(a.size() / 20000.0).isCloseTo(0.3, within(0.015));
        assertThat(a).isEqualTo(b);
    }

    @Test
    void capsClipLengthsAndCutPrefixHashes() throws IOException {
        Request r = new Request(0, 0, null, -1, null, 100, 50, 16, new long[] {1, 2, 3, 4, 5, 6, 7});
        List<Request> out = run(new TraceTransforms(null, null, null, null, 40, 20, null, 0), List.of(r));
        assertThat(out.get(0).promptTokens()).isEqualTo(40);
        assertThat(out.get(0).outputTokens()).isEqualTo(20);
        assertThat(out.get(0).prefixHashes()).containsExactly(1, 2, 3);
    }

    @Test
    void assignedAdaptersFollowPopularityAndSessionsKeepTheirs() throws IOException {
        WorkloadSpec adapters = WorkloadSpecs.parse("""
        duration_s: 1
        arrivals: {type: poisson, rate: 1}
        adapters: {count: 4, popularity: {type: weights, weights: [1, 1, 1, 5]}, base_share: 0.2, id_prefix: lora-}
        lengths: {prompt: {type: fixed, value: 1}, output: {type: fixed, value: 1}}
        """, Path.of("a.yaml"));
        List<Request> in = new ArrayList<>();
        for (int i = 0; i < 40000; i++) {
            String session = i % 4 == 0 ? "s" + (i % 400) : null;
            in.add(new Request(i, i, session, session == null ? -1 : i / 400, null, 10, 10, 0, null));
        }
        TraceTransforms t = new TraceTransforms(null, null, null, null, null, null, adapters, 9);
        List<Request> out = run(t, in);
        assertThat(run(t, in)).isEqualTo(out);
        Map<String, String> bySession = new HashMap<>();
        Map<String, Integer> counts = new HashMap<>();
        for (Request r : out) {
            counts.merge(String.valueOf(r.adapterId()), 1, Integer::sum);
            if (r.sessionId() != null) {
                String first = bySession.putIfAbsent(r.sessionId(), String.valueOf(r.adapterId()));
                assertThat(first == null || first.equals(String.valueOf(r.adapterId())))
                        .isTrue();
            }
        }
        assertThat(counts.get("null") / 40000.0).isCloseTo(0.2, within(0.02));
        assertThat(counts.get("lora-003") / 40000.0).isCloseTo(0.8 * 5 / 8, within(0.03));
    }

    @Test
    void assignmentFromARateTierSpecFollowsThePerAdapterRates() throws IOException {
        WorkloadSpec tiers = WorkloadSpecs.parse("""
        duration_s: 1
        arrivals: {type: poisson, rate_tiers: [3, 1]}
        adapters: {count: 2}
        lengths: {prompt: {type: fixed, value: 1}, output: {type: fixed, value: 1}}
        """, Path.of("t.yaml"));
        List<Request> out = run(new TraceTransforms(null, null, null, null, null, null, tiers, 1), everySecond(40000));
        long first =
                out.stream().filter(r -> "adapter-000".equals(r.adapterId())).count();
        assertThat(first / 40000.0).isCloseTo(0.75, within(0.01));
    }

    @Test
    void invalidParametersAreRejectedWithTheirValue() {
        assertThatThrownBy(() -> new TraceTransforms(null, null, 1.5, null, null, null, null, 0))
                .hasMessageContaining("sample fraction must be in (0, 1], got 1.5");
        assertThatThrownBy(() -> new TraceTransforms(5.0, 2.0, null, null, null, null, null, 0))
                .hasMessageContaining("window end must be after its start");
        assertThatThrownBy(() -> new TraceTransforms(null, null, null, 0.0, null, null, null, 0))
                .hasMessageContaining("time scale must be > 0");
    }
}

package io.twinserve.twin.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.Request;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.client.ClientGate;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.metrics.ClientSummary;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.metrics.RunSummary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/** Single-replica runs behind a benchmark client: a cap on outstanding requests and closed-loop users. */
class ClientRunTest {
    private static final RunOptions OPTIONS = new RunOptions(20_000_000_000L, true, true, 16, true);

    static ResolvedReplica replica() throws IOException {
        return SimTestSupport.replica("""
        model: llama-3.2-1b
        gpu: h100-sxm-80gb
        replica: {kv_cache_len: 20000, max_adapters: 2, max_cpu_adapters: 8, max_num_seqs: 16,
                  max_num_batched_tokens: 1024}
        """);
    }

    /** Overloads the replica: more requests per second than it can serve. */
    static WorkloadSpec overloaded(long seed, String client) {
        return WorkloadSpecs.parse("""
        seed: %d
        duration_s: 20
        arrivals: {type: poisson, rate: 60}
        adapters: {count: 6, ranks: [8, 16], popularity: {type: zipf, exponent: 1.0}, base_share: 0.2}
        lengths:
          prompt: {type: lognormal, mean: 600, std: 400}
          output: {type: lognormal, mean: 300, std: 200}
          max_total: 8000
        %s
        """.formatted(seed, client), Path.of("w.yaml"));
    }

    static RunResult run(WorkloadSpec spec, RunOptions options) throws IOException {
        WorkloadGenerator g = new WorkloadGenerator(spec, null);
        Map<String, Integer> ranks = new HashMap<>();
        g.adapters().forEach(a -> ranks.put(a.id(), a.rank()));
        try (g) {
            return new ReplicaSimulator(replica(), ranks).run(g, options);
        }
    }

    /** The most requests in flight (arrived, not yet finished or refused) at one instant. */
    static int maxInFlight(List<RequestRecord> records) {
        List<long[]> edges = new ArrayList<>();
        for (RequestRecord r : records) {
            long end = switch (r.outcome()) {
                case FINISHED -> r.finishNs();
                case REJECTED -> r.arrivalNs();
                default -> Long.MAX_VALUE;
            };
            if (end > r.arrivalNs()) {
                edges.add(new long[] {r.arrivalNs(), 1});
                edges.add(new long[] {end, -1});
            }
        }
        // an end and an arrival at one instant: the end frees the slot first
        edges.sort((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        int now = 0;
        int max = 0;
        for (long[] e : edges) {
            now += (int) e[1];
            max = Math.max(max, now);
        }
        return max;
    }

    @Property(tries = 12, seed = "16003")
    void aCapHoldsThroughoutARunAndRequestsLeaveTheClientInArrivalOrder(
            @ForAll @LongRange(min = 0, max = 10_000) long seed, @ForAll @IntRange(min = 1, max = 40) int cap)
            throws IOException {
        RunResult result = run(overloaded(seed, "client: {max_outstanding: %d}".formatted(cap)), OPTIONS);
        List<RequestRecord> records = result.requests();
        assertThat(maxInFlight(records)).isLessThanOrEqualTo(cap);
        long previousArrival = -1;
        long previousIntended = -1;
        for (RequestRecord r : records) {
            assertThat(r.intendedNs()).isNotNull().isLessThanOrEqualTo(r.arrivalNs());
            assertThat(r.arrivalNs())
                    .as("request %d leaves the client in order", r.id())
                    .isGreaterThanOrEqualTo(previousArrival);
            assertThat(r.intendedNs()).isGreaterThanOrEqualTo(previousIntended);
            previousArrival = r.arrivalNs();
            previousIntended = r.intendedNs();
        }
        RunSummary s = result.summary();
        ClientSummary c = s.client();
        assertThat(c.maxOutstanding()).isEqualTo(cap);
        assertThat(c.sent()).isEqualTo(s.requestsArrived()).isEqualTo(records.size());
        assertThat(c.peakOutstanding()).isLessThanOrEqualTo(cap);
        // drained: every request sent ends one way or another, and what the window cut off stayed at the client
        assertThat(s.requestsFinished() + s.requestsRejected()).isEqualTo(s.requestsArrived());
        long meant = 0;
        try (WorkloadGenerator g = new WorkloadGenerator(overloaded(seed, ""), null)) {
            for (var r = g.next(); r != null; r = g.next()) {
                meant++;
            }
        }
        assertThat(c.sent() + c.unsent()).as("nothing lost").isEqualTo(meant);
    }

    @Test
    void ttftFromTheIntendedTimeIsLongerWhenRequestsWaitAtTheClientAndEqualWhenNoneDoes() throws IOException {
        RunResult tight = run(overloaded(3, "client: {max_outstanding: 8}"), OPTIONS);
        assertThat(tight.summary().client().waited()).isPositive();
        for (RequestRecord r : tight.requests()) {
            if (r.firstTokenNs() >= 0) {
                assertThat(r.firstTokenNs() - r.intendedNs()).isGreaterThanOrEqualTo(r.firstTokenNs() - r.arrivalNs());
            }
        }
        assertThat(tight.summary().ttftFromIntended().meanMs())
                .isGreaterThan(2 * tight.summary().ttft().meanMs());

        RunResult roomy = run(overloaded(3, "client: {max_outstanding: 1000000}"), OPTIONS);
        assertThat(roomy.summary().client().waited()).isZero();
        assertThat(roomy.summary().ttftFromIntended()).isEqualTo(roomy.summary().ttft());
    }

    @Test
    void aCapNoRequestReachesChangesNothingButAddsTheClientFigures() throws IOException {
        RunResult plain = run(overloaded(5, ""), OPTIONS);
        RunResult roomy = run(overloaded(5, "client: {max_outstanding: 1000000}"), OPTIONS);
        RunSummary p = plain.summary();
        RunSummary r = roomy.summary();
        assertThat(p.client()).isNull();
        assertThat(p.ttftFromIntended()).isNull();
        assertThat(r.client().unsent()).isZero();
        assertThat(r.client().peakQueue()).isZero();
        assertThat(withoutClient(r)).isEqualTo(p);
        assertThat(plain.requests()).allSatisfy(q -> assertThat(q.intendedNs()).isNull());
        assertThat(roomy.requests()).hasSameSizeAs(plain.requests());
        for (int i = 0; i < plain.requests().size(); i++) {
            RequestRecord a = plain.requests().get(i);
            RequestRecord b = roomy.requests().get(i);
            assertThat(b.intendedNs()).isEqualTo(b.arrivalNs());
            assertThat(new RequestRecord(
                            b.id(),
                            b.adapter(),
                            b.arrivalNs(),
                            null,
                            b.firstScheduledNs(),
                            b.firstTokenNs(),
                            b.finishNs(),
                            b.promptTokens(),
                            b.outputTokens(),
                            b.generatedTokens(),
                            b.cachedPromptTokens(),
                            b.preemptions(),
                            b.outcome()))
                    .isEqualTo(a);
        }
    }

    static RunSummary withoutClient(RunSummary s) {
        return new RunSummary(
                s.windowS(),
                s.requestsArrived(),
                s.requestsFinished(),
                s.requestsRejected(),
                s.requestsTimedOut(),
                s.requestsUnfinished(),
                s.offered(),
                s.achieved(),
                s.starving(),
                s.starvedRequests(),
                s.starvationBoundS(),
                s.ttft(),
                null,
                s.itl(),
                s.e2e(),
                s.queueWait(),
                s.kvHitRate(),
                s.adapterLoads(),
                s.adapterStorageLoads(),
                s.adapterLoadTimeS(),
                s.preemptions(),
                s.steps(),
                s.meanWaiting(),
                s.maxWaiting(),
                s.meanRunning(),
                s.meanKvUsage(),
                s.memory(),
                s.timeline(),
                null);
    }

    @Test
    void aCommandLineCapOverridesTheSpecsAndAppliesToATrace() throws IOException {
        WorkloadSpec spec = overloaded(4, "client: {max_outstanding: 50}");
        WorkloadGenerator g = new WorkloadGenerator(spec, null);
        RunResult capped = new ReplicaSimulator(replica(), Map.of()).run(ClientGate.forWorkload(g, 3), OPTIONS);
        assertThat(capped.summary().client().maxOutstanding()).isEqualTo(3);
        assertThat(maxInFlight(capped.requests())).isLessThanOrEqualTo(3);

        List<Request> requests = new ArrayList<>();
        try (WorkloadGenerator again = new WorkloadGenerator(spec, null)) {
            for (var r = again.next(); r != null; r = again.next()) {
                requests.add(r);
            }
        }
        RunResult trace = new ReplicaSimulator(replica(), Map.of())
                .run(ClientGate.forWorkload(SimTestSupport.trace(requests), 3), OPTIONS);
        assertThat(trace.summary().client().maxOutstanding()).isEqualTo(3);
        assertThat(trace.requests()).isEqualTo(capped.requests());
    }

    @Test
    void closedLoopUsersHaveOneRequestInFlightEachAndThinkBeforeTheNext() throws IOException {
        int users = 6;
        RunResult result = run(
                overloaded(8, "client: {users: %d, think_time_s: 0.25}".formatted(users)),
                new RunOptions(null, false, true, 16, true));
        List<RequestRecord> records = result.requests();
        assertThat(records).hasSizeGreaterThan(100);
        assertThat(maxInFlight(records)).isLessThanOrEqualTo(users);
        // every request after the users' first follows an answer by exactly the think time
        long[] answers = records.stream()
                .filter(r -> r.outcome() == RequestRecord.Outcome.FINISHED)
                .mapToLong(r -> r.finishNs() + 250_000_000L)
                .sorted()
                .toArray();
        for (RequestRecord r : records.subList(users, records.size())) {
            assertThat(Arrays.binarySearch(answers, r.arrivalNs()))
                    .as("request %d", r.id())
                    .isNotNegative();
            assertThat(r.intendedNs()).isEqualTo(r.arrivalNs());
        }
        ClientSummary c = result.summary().client();
        assertThat(c.users()).isEqualTo(users);
        assertThat(c.waited()).isZero();
        assertThat(result.summary().ttftFromIntended())
                .isEqualTo(result.summary().ttft());
    }

    @Test
    void closedLoopRunsRepeatExactlyForASeed() throws IOException {
        String client = "client: {users: 12, think_time_s: {type: exponential, mean: 0.5}, max_outstanding: 9}";
        RunResult a = run(overloaded(11, client), OPTIONS);
        RunResult b = run(overloaded(11, client), OPTIONS);
        assertThat(b.summary()).isEqualTo(a.summary());
        assertThat(b.requests()).isEqualTo(a.requests());
        RunResult other = run(overloaded(12, client), OPTIONS);
        assertThat(other.requests()).isNotEqualTo(a.requests());
    }
}

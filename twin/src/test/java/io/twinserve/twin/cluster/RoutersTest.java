package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.Request;
import io.twinserve.twin.replica.AdapterIndex;
import io.twinserve.twin.replica.PrefixKeys;
import io.twinserve.twin.router.Router;
import io.twinserve.twin.router.RouterSpec;
import io.twinserve.twin.sched.Sequence;
import io.twinserve.twin.sched.StepListener;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each router's decision on replicas whose load and caches the test sets up directly. */
class RoutersTest {
    private static final int BLOCK = 16;
    private static final long[] NO_HASHES = new long[0];
    private static ResolvedCluster.PoolOption option;
    private long nextId = 1_000;

    @BeforeAll
    static void resolve() throws IOException {
        option = ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb, gpus_per_node: 8}]
        deployments:
          - {name: d, model: llama-3.1-8b, pools: [p],
             replica: {kv_cache_len: 65536, max_adapters: 2, max_cpu_adapters: 8}}
        """).deployments().get(0).options().get(0);
    }

    private static final StepListener IGNORE = new StepListener() {
        @Override
        public void onFirstToken(Sequence s, long nowNs) {}

        @Override
        public void onToken(Sequence s, long gapNs) {}

        @Override
        public void onFinished(Sequence s, long nowNs) {}
    };

    private static List<Replica> readyReplicas(int n) {
        List<Replica> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Replica r = new Replica(
                    i, i, 0, new Placement.Slot(option, 0), 0, new AdapterIndex(2, 64, ""), true, IGNORE, (s, t) -> {});
            r.state = Replica.State.READY;
            out.add(r);
        }
        return out;
    }

    /** Queues {@code n} base-model requests on a replica as the simulator does when it routes them there. */
    private void load(Replica r, int n, int promptTokens) {
        for (int i = 0; i < n; i++) {
            long id = nextId++;
            Sequence s = new Sequence(id, id, 0, -1, 0, promptTokens, 100, NO_HASHES);
            s.estimatedPrefillTokens(promptTokens);
            r.scheduler.enqueue(s);
            r.pendingPrefillTokens += promptTokens;
        }
    }

    private static Request plain(long id) {
        return Request.of(id, 0, null, 200, 50);
    }

    private static Request turn(String session, int turn, int promptTokens) {
        return new Request(turn, 0, session, turn, null, promptTokens, 50, 0, null);
    }

    // --- round robin

    @Test
    void roundRobinTakesReplicasInTurnWhateverTheirLoad() {
        List<Replica> replicas = readyReplicas(3);
        load(replicas.get(0), 10, 500);
        Router router = Router.of(new RouterSpec.RoundRobin());

        List<Integer> picks = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            picks.add(router.route(plain(i), -1, NO_HASHES, replicas).id);
        }

        assertThat(picks).containsExactly(0, 1, 2, 0, 1, 2, 0);
    }

    // --- least loaded

    @Test
    void leastLoadedSendsEachRequestToTheReplicaWithFewestOutstandingRequests() {
        List<Replica> replicas = readyReplicas(3);
        load(replicas.get(0), 3, 200);
        load(replicas.get(1), 1, 200);
        load(replicas.get(2), 2, 200);
        Router router = Router.of(new RouterSpec.LeastLoaded());

        // the rotating start for ties must not matter when one replica is strictly least loaded
        for (int i = 0; i < 6; i++) {
            assertThat(router.route(plain(i), -1, NO_HASHES, replicas)).isSameAs(replicas.get(1));
        }
        load(replicas.get(1), 3, 200);
        assertThat(router.route(plain(9), -1, NO_HASHES, replicas)).isSameAs(replicas.get(2));
    }

    @Test
    void leastLoadedSpreadsRequestsOverEquallyLoadedReplicas() {
        List<Replica> replicas = readyReplicas(3);
        Router router = Router.of(new RouterSpec.LeastLoaded());

        List<Integer> picks = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            picks.add(router.route(plain(i), -1, NO_HASHES, replicas).id);
        }

        assertThat(picks).containsExactlyInAnyOrder(0, 1, 2);
    }

    // --- session affinity

    @Test
    void sessionAffinityKeepsEveryTurnOfASessionOnTheReplicaOfItsFirstTurn() {
        List<Replica> replicas = readyReplicas(3);
        load(replicas.get(0), 2, 200);
        load(replicas.get(2), 2, 200);
        Router router = Router.of(new RouterSpec.SessionAffinity());

        Replica first = router.route(turn("s1", 0, 300), -1, NO_HASHES, replicas);
        assertThat(first).as("a new session goes to the least loaded replica").isSameAs(replicas.get(1));
        // its replica becomes the busiest: later turns stay all the same
        load(first, 10, 200);
        for (int t = 1; t < 6; t++) {
            assertThat(router.route(turn("s1", t, 300 + 100 * t), -1, NO_HASHES, replicas))
                    .isSameAs(first);
        }
    }

    @Test
    void sessionAffinitySendsANewSessionToTheLeastLoadedReplica() {
        List<Replica> replicas = readyReplicas(3);
        Router router = Router.of(new RouterSpec.SessionAffinity());
        Replica s1 = router.route(turn("s1", 0, 300), -1, NO_HASHES, replicas);
        load(s1, 5, 200);
        Replica other = replicas.get((s1.id + 1) % 3);
        load(other, 2, 200);
        Replica idle = replicas.get((s1.id + 2) % 3);

        assertThat(router.route(turn("s2", 0, 300), -1, NO_HASHES, replicas)).isSameAs(idle);
        assertThat(router.route(turn("s1", 1, 400), -1, NO_HASHES, replicas)).isSameAs(s1);
    }

    @Test
    void sessionAffinityMovesASessionWhoseReplicaIsNoLongerReady() {
        List<Replica> replicas = readyReplicas(2);
        Router router = Router.of(new RouterSpec.SessionAffinity());
        Replica first = router.route(turn("s1", 0, 300), -1, NO_HASHES, replicas);
        first.state = Replica.State.DRAINING;
        List<Replica> routable = replicas.stream().filter(Replica::routable).toList();

        Replica moved = router.route(turn("s1", 1, 400), -1, NO_HASHES, routable);
        assertThat(moved).isNotSameAs(first);
        assertThat(router.route(turn("s1", 2, 500), -1, NO_HASHES, routable)).isSameAs(moved);
    }

    // --- adapter affinity

    /** Every replica knows one adapter; replica {@code holder} has it in a GPU slot (loaded, not in use). */
    private static List<Replica> replicasWithAdapterOn(int n, int holder) {
        List<Replica> replicas = readyReplicas(n);
        for (Replica r : replicas) {
            r.core.knowAdapters(1, true);
        }
        Replica h = replicas.get(holder);
        h.adapters.acquire(0, 0);
        h.adapters.release(0);
        return replicas;
    }

    @Test
    void adapterAffinityPrefersAReplicaHoldingTheAdapterWithinTheLoadSlack() {
        List<Replica> replicas = replicasWithAdapterOn(3, 2);
        load(replicas.get(2), 3, 200);
        Router router = Router.of(new RouterSpec.AdapterAffinity(3));

        assertThat(replicas.get(2).adapters.isResident(0)).isTrue();
        assertThat(replicas.get(0).adapters.isResident(0)).isFalse();
        // 3 requests above the least loaded (0) is within a slack of 3
        for (int i = 0; i < 4; i++) {
            assertThat(router.route(plain(i).withAdapterId("a"), 0, NO_HASHES, replicas))
                    .isSameAs(replicas.get(2));
        }
    }

    @Test
    void adapterAffinityFallsBackToTheLeastLoadedWhenTheHolderIsMoreThanTheSlackBusier() {
        List<Replica> replicas = replicasWithAdapterOn(3, 2);
        load(replicas.get(0), 1, 200);
        load(replicas.get(2), 5, 200);
        Router router = Router.of(new RouterSpec.AdapterAffinity(3));

        // the holder has 5 outstanding, the least loaded (replica 1) none: 5 > 0 + 3
        assertThat(router.route(plain(1).withAdapterId("a"), 0, NO_HASHES, replicas))
                .isSameAs(replicas.get(1));
    }

    @Test
    void adapterAffinitySendsBaseModelRequestsAndUnheldAdaptersToTheLeastLoaded() {
        List<Replica> replicas = replicasWithAdapterOn(3, 2);
        load(replicas.get(0), 2, 200);
        load(replicas.get(2), 1, 200);
        for (Replica r : replicas) {
            r.core.knowAdapters(2, true);
        }
        Router router = Router.of(new RouterSpec.AdapterAffinity(8));

        for (int i = 0; i < 3; i++) {
            assertThat(router.route(plain(i), -1, NO_HASHES, replicas)).isSameAs(replicas.get(1));
            assertThat(router.route(plain(i).withAdapterId("b"), 1, NO_HASHES, replicas))
                    .isSameAs(replicas.get(1));
        }
    }

    // --- cache aware

    private static long[] traceHashes(int blocks, long salt) {
        long[] h = new long[blocks];
        for (int i = 0; i < blocks; i++) {
            h[i] = salt * 1_000_003L + i;
        }
        return h;
    }

    private static Request sessionTurn(long id, int turn, int promptTokens, long[] hashes) {
        return new Request(id, 0, "s", turn, null, promptTokens, 1, BLOCK, hashes);
    }

    /** Runs a one-token request's prefill on the replica, leaving its prompt's blocks in the prefix cache. */
    private static void servePrefill(Replica r, Request request) {
        long[] blocks = PrefixKeys.of(request, BLOCK, -1);
        Sequence s = new Sequence(
                request.id(), request.id(), 0, -1, 0, request.promptTokens(), request.outputTokens(), blocks);
        // as the simulator does at routing: the backlog counts what this replica would compute
        s.estimatedPrefillTokens(request.promptTokens());
        r.scheduler.enqueue(s);
        r.pendingPrefillTokens += request.promptTokens();
        assertThat(r.scheduler.plan(0)).isTrue();
        r.scheduler.complete(1_000_000, r);
        assertThat(r.scheduler.isIdle()).as("the one-token request finished").isTrue();
    }

    @Test
    void cacheAwarePicksTheReplicaHoldingTheSessionsPrefixWhenQueuesAreEqual() {
        List<Replica> replicas = readyReplicas(3);
        long[] turn0 = traceHashes(64, 7);
        servePrefill(replicas.get(1), sessionTurn(1, 0, 64 * BLOCK, turn0));
        long[] turn1Hashes = Arrays.copyOf(turn0, 80);
        System.arraycopy(traceHashes(16, 8), 0, turn1Hashes, 64, 16);
        Request turn1 = sessionTurn(2, 1, 80 * BLOCK, turn1Hashes);
        long[] blocks = PrefixKeys.of(turn1, BLOCK, -1);
        for (Replica r : replicas) {
            load(r, 2, 300);
        }
        Router router = Router.of(new RouterSpec.CacheAware());

        assertThat(replicas.get(1).cachedPrefixTokens(blocks, turn1.promptTokens()))
                .isEqualTo(64 * BLOCK);
        assertThat(replicas.get(0).cachedPrefixTokens(blocks, turn1.promptTokens()))
                .isZero();
        // the rotating start for ties must not matter
        for (int i = 0; i < 3; i++) {
            assertThat(router.route(turn1, -1, blocks, replicas)).isSameAs(replicas.get(1));
        }
    }

    @Test
    void cacheAwarePicksAFreshReplicaWhenTheSessionsReplicaIsHeavilyBacklogged() {
        List<Replica> replicas = readyReplicas(2);
        Replica holder = replicas.get(0);
        Replica fresh = replicas.get(1);
        long[] turn0 = traceHashes(64, 11);
        servePrefill(holder, sessionTurn(1, 0, 64 * BLOCK, turn0));
        Request turn1 = sessionTurn(2, 1, 64 * BLOCK + 100, turn0);
        long[] blocks = PrefixKeys.of(turn1, BLOCK, -1);
        load(holder, 40, 2000);
        Router router = Router.of(new RouterSpec.CacheAware());

        int cached = holder.cachedPrefixTokens(blocks, turn1.promptTokens());
        assertThat(cached).isPositive();
        assertThat(holder.estimatedPrefillNs(turn1.promptTokens() - cached))
                .as("the holder's backlog costs more than the prefix saves")
                .isGreaterThan(fresh.estimatedPrefillNs(turn1.promptTokens()));
        for (int i = 0; i < 2; i++) {
            assertThat(router.route(turn1, -1, blocks, replicas)).isSameAs(fresh);
        }
    }

    @Test
    void cacheAwareTakesTheReplicaWithTheEarliestEstimatedPrefill() {
        List<Replica> replicas = readyReplicas(3);
        load(replicas.get(0), 1, 4000);
        load(replicas.get(1), 1, 500);
        load(replicas.get(2), 1, 2000);
        Router router = Router.of(new RouterSpec.CacheAware());
        Request r = plain(1);

        assertThat(replicas.get(1).estimatedPrefillNs(200))
                .isLessThan(replicas.get(2).estimatedPrefillNs(200));
        for (int i = 0; i < 3; i++) {
            assertThat(router.route(r, -1, NO_HASHES, replicas)).isSameAs(replicas.get(1));
        }
    }
}

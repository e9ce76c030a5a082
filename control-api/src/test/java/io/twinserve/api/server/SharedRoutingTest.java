package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.api.server.inference.RedisSessionStore;
import io.twinserve.api.server.infra.Redis;
import io.twinserve.twin.router.PrefillPrices;
import io.twinserve.twin.router.RoutableReplica;
import io.twinserve.twin.router.RouteRequest;
import io.twinserve.twin.router.Router;
import io.twinserve.twin.router.RouterSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two server instances route a session alike: here two independent routers, each with its own Redis
 * client and {@link RedisSessionStore} on the one real Redis of the test server, over two copies of the
 * same replica views. What "alike" means depends on the policy:
 * <ul>
 *   <li>session_affinity: the session's placement is shared through Redis, so once either instance has
 *       placed it, both send every later turn there, even where their own least-loaded choice differs;
 *   <li>round_robin, least_loaded, adapter_affinity, cache_aware keep no session state: the same sequence
 *       of requests over the same replica views gives the same choices on both (their only state is a
 *       rotation for ties, which both advance alike), so a session whose replica stays the best choice
 *       (least loaded, holding its adapter, holding its prefix) lands there on both.
 * </ul>
 */
@ExtendWith(TestServer.Extension.class)
class SharedRoutingTest {
    private static final int BLOCK = 16;
    private static String redisUri;
    private static Redis clientA;
    private static Redis clientB;
    private static String runId;

    @BeforeAll
    static void connect(TestServer server) {
        redisUri = server.server().services().redis().toString();
        clientA = new Redis(redisUri, 5000);
        clientB = new Redis(redisUri, 5000);
        runId = server.unique("routing");
    }

    @AfterAll
    static void close() {
        clientA.close();
        clientB.close();
    }

    /** A replica as a router sees it, set up by the test. */
    static final class View implements RoutableReplica {
        final int id;
        long outstanding;
        long pendingPrefillTokens;
        final Set<Integer> adapters = new HashSet<>();
        final Set<Long> cachedBlocks = new HashSet<>();

        View(int id) {
            this.id = id;
        }

        @Override
        public int replicaId() {
            return id;
        }

        @Override
        public long outstanding() {
            return outstanding;
        }

        @Override
        public boolean holdsAdapter(int adapter) {
            return adapters.contains(adapter);
        }

        @Override
        public int cachedPrefixTokens(long[] blockHashes, int promptTokens) {
            int usable = Math.min(blockHashes.length, (promptTokens - 1) / BLOCK);
            int n = 0;
            while (n < usable && cachedBlocks.contains(blockHashes[n])) {
                n++;
            }
            return n * BLOCK;
        }

        @Override
        public double estimatedPrefillNs(long tokens) {
            return new PrefillPrices(1.0, 4.0).estimatedPrefillNs(pendingPrefillTokens, tokens, outstanding);
        }
    }

    /** One server instance's router and replica views. */
    record Instance(Router router, List<View> replicas) {
        int route(RouteRequest request) {
            return router.route(request, replicas).replicaId();
        }
    }

    private static Instance instance(RouterSpec spec, Redis client, String deployment, int replicas) {
        List<View> views = new ArrayList<>();
        for (int i = 0; i < replicas; i++) {
            views.add(new View(i));
        }
        return new Instance(Router.of(spec, new RedisSessionStore(client, deployment)), views);
    }

    private static String deployment(String name) {
        return runId + "-" + name;
    }

    private static RouteRequest turn(String session, int promptTokens) {
        return new RouteRequest(session, -1, new long[0], promptTokens);
    }

    @Test
    void sessionAffinityFollowsThePlacementEitherInstanceRecordedInRedis() {
        String d = deployment("sticky");
        Instance a = instance(new RouterSpec.SessionAffinity(), clientA, d, 4);
        Instance b = instance(new RouterSpec.SessionAffinity(), clientB, d, 4);
        // A's least loaded replica is 2; B's is 0
        for (View v : a.replicas()) {
            v.outstanding = v.id == 2 ? 0 : 5;
        }
        for (View v : b.replicas()) {
            v.outstanding = v.id == 0 ? 0 : 5;
        }

        int first = a.route(turn("conversation-1", 300));
        assertThat(first).isEqualTo(2);
        for (int t = 1; t < 6; t++) {
            Instance next = t % 2 == 0 ? a : b;
            assertThat(next.route(turn("conversation-1", 300 + 100 * t)))
                    .as("turn %d", t)
                    .isEqualTo(first);
        }
        // a new session placed by B is followed by A, against A's own least-loaded choice
        int placedByB = b.route(turn("conversation-2", 300));
        assertThat(placedByB).isZero();
        assertThat(a.route(turn("conversation-2", 400))).isZero();
        // and both read the same record straight from Redis
        assertThat(new RedisSessionStore(clientB, d).replicaOf("conversation-1"))
                .isEqualTo(2);
    }

    @Test
    void sessionAffinityInstancesPlacingOneSessionAtOnceAgreeOnTheFirstRecord() {
        String d = deployment("race");
        RedisSessionStore storeA = new RedisSessionStore(clientA, d);
        RedisSessionStore storeB = new RedisSessionStore(clientB, d);

        // both saw no record and chose different replicas: the one recorded first wins for both
        assertThat(storeA.recordIfAbsent("s", 1)).isEqualTo(1);
        assertThat(storeB.recordIfAbsent("s", 3)).isEqualTo(1);
        assertThat(storeB.replicaOf("s")).isEqualTo(1);
    }

    @Test
    void sessionAffinityMovesASessionWhoseReplicaIsGoneOnBothInstances() {
        String d = deployment("moved");
        Instance a = instance(new RouterSpec.SessionAffinity(), clientA, d, 3);
        Instance b = instance(new RouterSpec.SessionAffinity(), clientB, d, 3);
        a.replicas().get(0).outstanding = 1;
        a.replicas().get(2).outstanding = 1;
        assertThat(a.route(turn("s", 300))).isEqualTo(1);

        // replica 1 is no longer routable on B: B moves the session and records the move for A
        b.replicas().remove(1);
        b.replicas().get(0).outstanding = 3;
        int moved = b.route(turn("s", 400));
        assertThat(moved).isEqualTo(2);
        assertThat(a.route(turn("s", 500))).isEqualTo(2);
    }

    /** Routes the same requests through both instances, one after the other, and returns both choices. */
    private static List<int[]> both(Instance a, Instance b, List<RouteRequest> requests) {
        List<int[]> out = new ArrayList<>();
        for (RouteRequest r : requests) {
            out.add(new int[] {a.route(r), b.route(r)});
        }
        return out;
    }

    @Test
    void roundRobinGivesBothInstancesTheSameSequence() {
        String d = deployment("rr");
        Instance a = instance(new RouterSpec.RoundRobin(), clientA, d, 3);
        Instance b = instance(new RouterSpec.RoundRobin(), clientB, d, 3);
        List<RouteRequest> requests = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            requests.add(turn("s", 100 + i));
        }

        List<int[]> picks = both(a, b, requests);
        for (int i = 0; i < picks.size(); i++) {
            assertThat(picks.get(i)[0]).as("request %d", i).isEqualTo(i % 3).isEqualTo(picks.get(i)[1]);
        }
    }

    @Test
    void leastLoadedSendsASessionToTheLeastLoadedReplicaOnBothInstances() {
        String d = deployment("ll");
        Instance a = instance(new RouterSpec.LeastLoaded(), clientA, d, 4);
        Instance b = instance(new RouterSpec.LeastLoaded(), clientB, d, 4);
        for (Instance x : List.of(a, b)) {
            for (View v : x.replicas()) {
                v.outstanding = v.id == 3 ? 1 : 4;
            }
        }
        List<int[]> picks = both(a, b, List.of(turn("s", 100), turn("s", 200), turn("s", 300)));
        for (int[] p : picks) {
            assertThat(p).containsExactly(3, 3);
        }
        // ties: both rotate alike, so the same requests still get the same replicas
        for (Instance x : List.of(a, b)) {
            x.replicas().forEach(v -> v.outstanding = 0);
        }
        for (int[] p : both(a, b, List.of(turn("s", 100), turn("s", 200), turn("s", 300)))) {
            assertThat(p[0]).isEqualTo(p[1]);
        }
    }

    @Test
    void adapterAffinitySendsASessionToTheReplicaHoldingItsAdapterOnBothInstances() {
        String d = deployment("aa");
        Instance a = instance(new RouterSpec.AdapterAffinity(8), clientA, d, 4);
        Instance b = instance(new RouterSpec.AdapterAffinity(8), clientB, d, 4);
        for (Instance x : List.of(a, b)) {
            x.replicas().get(1).adapters.add(5);
            x.replicas().get(1).outstanding = 3;
        }
        for (int t = 0; t < 4; t++) {
            RouteRequest r = new RouteRequest("s", 5, new long[0], 200 + t);
            assertThat(a.route(r)).isEqualTo(1);
            assertThat(b.route(r)).isEqualTo(1);
        }
    }

    @Test
    void cacheAwareSendsASessionToTheReplicaHoldingItsPrefixOnBothInstances() {
        String d = deployment("ca");
        Instance a = instance(new RouterSpec.CacheAware(), clientA, d, 4);
        Instance b = instance(new RouterSpec.CacheAware(), clientB, d, 4);
        long[] turn0 = new long[20];
        for (int i = 0; i < turn0.length; i++) {
            turn0[i] = 7_000L + i;
        }
        long[] turn1 = Arrays.copyOf(turn0, 30);
        for (int i = 20; i < 30; i++) {
            turn1[i] = 9_000L + i;
        }
        for (Instance x : List.of(a, b)) {
            for (long h : turn0) {
                x.replicas().get(2).cachedBlocks.add(h);
            }
            x.replicas().forEach(v -> v.outstanding = 1);
        }
        for (int t = 0; t < 4; t++) {
            RouteRequest r = new RouteRequest("s", -1, turn1, 30 * BLOCK);
            assertThat(a.route(r)).as("A, request %d", t).isEqualTo(2);
            assertThat(b.route(r)).as("B, request %d", t).isEqualTo(2);
        }
    }
}

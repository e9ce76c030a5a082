package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.twin.replica.AdapterIndex;
import io.twinserve.twin.sched.Sequence;
import io.twinserve.twin.sched.StepListener;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import org.junit.jupiter.api.Test;

class DeadlineQueueTest {

    private static Replica[] replicas(int n) throws IOException {
        ResolvedCluster.PoolOption option =
                ClusterTestSupport.cluster("""
        pools: [{name: p, gpu: h100-sxm-80gb}]
        deployments: [{name: d, model: llama-3.2-1b, pools: [p]}]
        """).deployments().get(0).options().get(0);
        StepListener ignore = new StepListener() {
            @Override
            public void onFirstToken(Sequence s, long nowNs) {}

            @Override
            public void onToken(Sequence s, long gapNs) {}

            @Override
            public void onFinished(Sequence s, long nowNs) {}
        };
        Replica[] out = new Replica[n];
        for (int i = 0; i < n; i++) {
            out[i] = new Replica(
                    i, i, 0, new Placement.Slot(option, 0), 0, new AdapterIndex(2, 64, ""), true, ignore, (s, t) -> {});
        }
        return out;
    }

    @Test
    void keepsArrivalOrderWithEachRequestsReplicaAcrossWrapAroundAndGrowth() throws IOException {
        Replica[] replicas = replicas(3);
        DeadlineQueue q = new DeadlineQueue();
        Deque<Sequence> expected = new ArrayDeque<>();
        long id = 0;
        // fill part way, take most out (the head moves on), then add well past the initial capacity (64)
        for (int round = 0; round < 5; round++) {
            for (int i = 0; i < 50 + 30 * round; i++) {
                Sequence s = new Sequence(id, id, id, -1, 0, 10, 10, new long[0]);
                q.add(s, replicas[(int) (id % 3)]);
                id++;
                expected.addLast(s);
            }
            for (int i = 0; i < 40; i++) {
                Sequence head = expected.pollFirst();
                assertThat(q.peek()).isSameAs(head);
                assertThat(q.peekReplica()).isSameAs(replicas[(int) (head.requestId() % 3)]);
                q.poll();
            }
        }
        while (!expected.isEmpty()) {
            Sequence head = expected.pollFirst();
            assertThat(q.isEmpty()).isFalse();
            assertThat(q.peek()).isSameAs(head);
            assertThat(q.peekReplica()).isSameAs(replicas[(int) (head.requestId() % 3)]);
            q.poll();
        }
        assertThat(q.isEmpty()).isTrue();
    }
}

package io.twinserve.twin.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.gen.ThinkTimes;
import io.twinserve.traces.spec.ClientSpec;
import io.twinserve.traces.spec.DistributionSpec;
import io.twinserve.twin.metrics.ClientSummary;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.Test;

/** The client gate on small hand-made traces, driven the way the simulation loops drive it. */
class ClientGateTest {
    private static final long S = 1_000_000_000L;

    static TraceReader trace(long... arrivalsNs) {
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < arrivalsNs.length; i++) {
            requests.add(Request.of(i, arrivalsNs[i], null, 100, 10));
        }
        Iterator<Request> it = requests.iterator();
        return () -> it.hasNext() ? it.next() : null;
    }

    @Test
    void withoutAClientEveryRequestIsSentAtItsArrival() throws Exception {
        ClientGate gate = ClientGate.open(trace(0, 2 * S, 2 * S, 5 * S));
        assertThat(gate.active()).isFalse();
        List<Long> sends = new ArrayList<>();
        while (gate.nextSendNs() != Long.MAX_VALUE) {
            long t = gate.nextSendNs();
            Request r = gate.take();
            assertThat(gate.intendedNs()).isEqualTo(r.arrivalNs()).isEqualTo(t);
            sends.add(t);
        }
        assertThat(sends).containsExactly(0L, 2 * S, 2 * S, 5 * S);
        assertThat(gate.outstanding()).isEqualTo(4);
        assertThat(gate.summary(10 * S)).isNull();
    }

    @Test
    void capHoldsRequestsAtTheClientUntilOneEndsAndSendsThemInArrivalOrder() throws Exception {
        ClientGate gate = ClientGate.of(trace(0, 1 * S, 2 * S, 3 * S), ClientSpec.capped(2), null);
        assertThat(gate.take().id()).isZero();
        assertThat(gate.nextSendNs()).isEqualTo(1 * S);
        assertThat(gate.take().id()).isEqualTo(1);
        assertThat(gate.nextSendNs()).as("two in flight: the third waits").isEqualTo(Long.MAX_VALUE);
        gate.ended(5 * S);
        assertThat(gate.nextSendNs()).isEqualTo(5 * S);
        Request third = gate.take();
        assertThat(third.id()).isEqualTo(2);
        assertThat(gate.intendedNs()).isEqualTo(2 * S);
        assertThat(gate.nextSendNs()).isEqualTo(Long.MAX_VALUE);
        gate.ended(6 * S);
        gate.ended(7 * S);
        assertThat(gate.nextSendNs()).as("sent when the first slot freed").isEqualTo(6 * S);
        assertThat(gate.take().id()).isEqualTo(3);

        ClientSummary s = gate.summary(10 * S);
        assertThat(s.maxOutstanding()).isEqualTo(2);
        assertThat(s.users()).isNull();
        assertThat(s.sent()).isEqualTo(4);
        assertThat(s.waited()).isEqualTo(2);
        assertThat(s.unsent()).isZero();
        assertThat(s.clientWait().maxMs()).isCloseTo(3000.0, Percentage.withPercentage(0.1));
        assertThat(s.peakQueue())
                .as("request 2 waits from 2 s to 5 s, request 3 from 3 s to 6 s")
                .isEqualTo(2);
        assertThat(s.peakOutstanding()).isEqualTo(2);
    }

    @Test
    void requestsStillAtTheClientWhenTheWindowClosesCountAsUnsent() throws Exception {
        ClientGate gate = ClientGate.of(trace(0, 1 * S, 2 * S, 3 * S, 20 * S), ClientSpec.capped(1), null);
        gate.take();
        ClientSummary s = gate.summary(10 * S);
        assertThat(s.sent()).isEqualTo(1);
        assertThat(s.unsent())
                .as("three meant to be sent within the window, none after it")
                .isEqualTo(3);
        assertThat(s.peakQueue()).isEqualTo(3);
    }

    @Test
    void closedLoopUsersStartAtTheFirstArrivalsAndSendAThinkTimeAfterEachAnswer() throws Exception {
        ClientSpec spec = new ClientSpec(null, 2, new DistributionSpec.Fixed(3.0));
        ThinkTimes think = new ThinkTimes(spec.thinkTimeS(), new SplittableRandom(1), null);
        ClientGate gate = ClientGate.of(trace(1 * S, 4 * S, 5 * S, 6 * S), spec, think);
        assertThat(gate.nextSendNs()).isEqualTo(1 * S);
        assertThat(gate.take().id()).isZero();
        assertThat(gate.nextSendNs()).isEqualTo(4 * S);
        assertThat(gate.take().id()).isEqualTo(1);
        assertThat(gate.nextSendNs()).as("both users wait for an answer").isEqualTo(Long.MAX_VALUE);
        assertThat(gate.drained(100 * S)).isFalse();
        gate.ended(2 * S);
        assertThat(gate.nextSendNs())
                .as("the next request's own arrival time plays no part")
                .isEqualTo(5 * S);
        Request third = gate.take();
        assertThat(third.id()).isEqualTo(2);
        assertThat(gate.intendedNs()).isEqualTo(5 * S);
        gate.ended(4 * S + 500);
        assertThat(gate.nextSendNs()).isEqualTo(7 * S + 500);
        assertThat(gate.take().id()).isEqualTo(3);
        assertThat(gate.nextSendNs()).isEqualTo(Long.MAX_VALUE);
        assertThat(gate.drained(100 * S)).as("the trace is used up").isTrue();
        ClientSummary s = gate.summary(100 * S);
        assertThat(s.users()).isEqualTo(2);
        assertThat(s.waited())
                .as("without a cap a user never waits for the client")
                .isZero();
    }

    @Test
    void aCapOverrideKeepsTheSpecsUsers() throws Exception {
        ClientSpec spec = new ClientSpec(null, 3, null).withMaxOutstanding(1);
        ClientGate gate = ClientGate.of(trace(0, 0, 0), spec, null);
        gate.take();
        assertThat(gate.nextSendNs()).isEqualTo(Long.MAX_VALUE);
        gate.ended(2 * S);
        assertThat(gate.nextSendNs()).isEqualTo(2 * S);
    }

    @Test
    void anEndWithNothingInFlightIsAnError() throws Exception {
        ClientGate gate = ClientGate.of(trace(0), ClientSpec.capped(1), null);
        assertThatThrownBy(() -> gate.ended(5))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("none of this client's is in flight");
    }

    @Test
    void takingWhileBlockedIsAnError() throws Exception {
        ClientGate gate = ClientGate.of(trace(0, 1), ClientSpec.capped(1), null);
        gate.take();
        assertThatThrownBy(gate::take)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("1 outstanding of a cap of 1");
    }
}

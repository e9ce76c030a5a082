package io.twinserve.twin.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class EventQueueTest {

    private static Event arrival(long id) {
        return new Event.RequestArrived((int) id);
    }

    private static List<Event> drain(EventQueue q) {
        List<Event> out = new ArrayList<>();
        while (!q.isEmpty()) {
            out.add(q.poll());
        }
        return out;
    }

    @Test
    void takesEventsInTimeOrderWhateverTheSchedulingOrder() {
        EventQueue q = new EventQueue();
        Event late = new Event.TtftDeadlinePassed(0);
        Event early = new Event.AutoscalerTicked(0);
        Event middle = arrival(1);
        q.schedule(300, late);
        q.schedule(100, early);
        q.schedule(200, middle);

        assertThat(q.peekTime()).isEqualTo(100);
        assertThat(q.poll()).isSameAs(early);
        assertThat(q.now()).isEqualTo(100);
        assertThat(q.poll()).isSameAs(middle);
        assertThat(q.now()).isEqualTo(200);
        assertThat(q.poll()).isSameAs(late);
        assertThat(q.now()).isEqualTo(300);
        assertThat(q.isEmpty()).isTrue();
    }

    @Test
    void pinsTheTieRuleBetweenEveryKindOfEventAtOneInstant() {
        // arrivals are routed before anything else of the instant, cold starts end before steps complete,
        // steps complete before deadlines pass (a first token exactly at its deadline is in time), idle
        // replicas plan once they have seen all of that, and the autoscaler looks last
        Event arrived = arrival(1);
        Event started = new Event.ReplicaStarted(null);
        Event completed = new Event.StepCompleted(null);
        Event deadline = new Event.TtftDeadlinePassed(0);
        Event woken = new Event.ReplicaWoken(null);
        Event tick = new Event.AutoscalerTicked(0);
        EventQueue q = new EventQueue();
        for (Event e : List.of(tick, woken, deadline, completed, started, arrived)) {
            q.schedule(1_000, e);
        }

        assertThat(drain(q)).containsExactly(arrived, started, completed, deadline, woken, tick);
    }

    @Test
    void takesEventsOfTheSameTimeAndPhaseInSchedulingOrder() {
        EventQueue q = new EventQueue();
        List<Event> scheduled = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            Event e = arrival(i);
            scheduled.add(e);
            q.schedule(7, e);
        }

        assertThat(drain(q)).containsExactlyElementsOf(scheduled);
    }

    @Test
    void ordersManyEventsByTimeThenPhaseThenSequenceAcrossGrowth() {
        record Entry(long time, int phase, int sequence, Event event) {}
        Random random = new Random(42);
        EventQueue q = new EventQueue();
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            long time = random.nextInt(50);
            Event e = switch (random.nextInt(3)) {
                case 0 -> arrival(i);
                case 1 -> new Event.TtftDeadlinePassed(i);
                default -> new Event.AutoscalerTicked(i);
            };
            entries.add(new Entry(time, e.phase(), i, e));
            q.schedule(time, e);
        }
        List<Event> expected = entries.stream()
                .sorted(Comparator.comparingLong(Entry::time)
                        .thenComparingInt(Entry::phase)
                        .thenComparingInt(Entry::sequence))
                .map(Entry::event)
                .toList();

        assertThat(drain(q)).containsExactlyElementsOf(expected);
    }

    @Test
    void allowsSchedulingAtTheCurrentInstant() {
        EventQueue q = new EventQueue();
        q.schedule(100, new Event.AutoscalerTicked(0));
        q.poll();
        Event now = arrival(2);
        q.schedule(100, now);

        assertThat(q.poll()).isSameAs(now);
        assertThat(q.now()).isEqualTo(100);
    }

    @Test
    void refusesAnEventBeforeTheClockNamingBothTimes() {
        EventQueue q = new EventQueue();
        q.schedule(5_000, new Event.AutoscalerTicked(0));
        q.poll();

        assertThatThrownBy(() -> q.schedule(4_999, new Event.TtftDeadlinePassed(0)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("4999")
                .hasMessageContaining("5000");
        assertThat(q.isEmpty()).as("the refused event is not queued").isTrue();
    }
}

package io.twinserve.traces.spec;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The workload's {@code client} block: what it accepts, and errors that name the key. */
class ClientSpecTest {
    private static final Path FILE = Path.of("spec.yaml");
    private static final String HEAD = """
      duration_s: 10
      arrivals: {type: poisson, rate: 2}
      lengths: {prompt: {type: fixed, value: 10}, output: {type: fixed, value: 5}}
      """;

    private static WorkloadSpec parse(String client) {
        return WorkloadSpecs.parse(HEAD + client, FILE);
    }

    private static SpecException error(String client) {
        try {
            parse(client);
        } catch (SpecException e) {
            return e;
        }
        throw new AssertionError("expected a SpecException for:\n" + client);
    }

    @Test
    void readsACapOnOutstandingRequests() {
        ClientSpec c = parse("client: {max_outstanding: 25000}\n").client();
        assertThat(c.maxOutstanding()).isEqualTo(25000);
        assertThat(c.closedLoop()).isFalse();
    }

    @Test
    void noClientBlockMeansNoClient() {
        assertThat(parse("").client()).isNull();
    }

    @Test
    void readsThinkTimeAsSecondsOrAsADistribution() {
        ClientSpec seconds = parse("client: {users: 8, think_time_s: 1.5}\n").client();
        assertThat(seconds.users()).isEqualTo(8);
        assertThat(seconds.thinkTimeS()).isEqualTo(new DistributionSpec.Fixed(1.5));
        ClientSpec drawn = parse("client: {users: 8, think_time_s: {type: exponential, mean: 2}}\n")
                .client();
        assertThat(drawn.thinkTimeS()).isEqualTo(new DistributionSpec.Exponential(2.0));
    }

    @Test
    void closedLoopThinkTimeDefaultsToZero() {
        assertThat(parse("client: {users: 3}\n").client().thinkTimeS()).isEqualTo(new DistributionSpec.Fixed(0.0));
    }

    @Test
    void zeroCapNamesTheKeyAndTheAllowedRange() {
        SpecException e = error("client: {max_outstanding: 0}\n");
        assertThat(e.keyPath()).isEqualTo("client.max_outstanding");
        assertThat(e.getMessage()).isEqualTo("spec.yaml:4: client.max_outstanding must be >= 1, got 0");
    }

    @Test
    void zeroUsersNamesTheKey() {
        assertThat(error("client: {users: 0}\n").getMessage()).contains("client.users must be >= 1, got 0");
    }

    @Test
    void unknownKeyUnderClientSuggestsTheIntendedOne() {
        SpecException e = error("client: {max_outstandng: 5}\n");
        assertThat(e.keyPath()).isEqualTo("client.max_outstandng");
        assertThat(e.getMessage())
                .contains("is not a known key; did you mean 'max_outstanding'?")
                .contains("expected one of max_outstanding, think_time_s, users");
    }

    @Test
    void negativeThinkTimeNamesTheKey() {
        SpecException e = error("client: {users: 2, think_time_s: -1}\n");
        assertThat(e.keyPath()).isEqualTo("client.think_time_s");
        assertThat(e.getMessage()).contains("client.think_time_s must be >= 0 seconds (or a distribution), got -1");
    }

    @Test
    void unknownThinkTimeDistributionListsTheChoices() {
        SpecException e = error("client: {users: 2, think_time_s: {type: expo, mean: 1}}\n");
        assertThat(e.getMessage())
                .contains("client.think_time_s.type 'expo' is not a known type")
                .contains("exponential");
    }

    @Test
    void thinkTimeWithoutUsersIsRefused() {
        SpecException e = error("client: {max_outstanding: 4, think_time_s: 2}\n");
        assertThat(e.keyPath()).isEqualTo("client.think_time_s");
        assertThat(e.getMessage()).contains("applies to closed-loop clients only; give users: N as well");
    }

    @Test
    void emptyClientBlockSaysWhatItTakes() {
        SpecException e = error("client: {}\n");
        assertThat(e.keyPath()).isEqualTo("client");
        assertThat(e.getMessage()).contains("give max_outstanding").contains("or users");
    }

    @Test
    void closedLoopUsersCannotReplaySessions() {
        SpecException e = error("""
        sessions: {turns: {type: fixed, value: 2}, think_time_s: {type: fixed, value: 1}}
        client: {users: 4}
        """);
        assertThat(e.keyPath()).isEqualTo("client.users");
        assertThat(e.getMessage()).contains("cannot be combined with sessions");
    }

    @Test
    void aCapWorksWithSessions() {
        WorkloadSpec w = parse("""
        sessions: {turns: {type: fixed, value: 2}, think_time_s: {type: fixed, value: 1}}
        client: {max_outstanding: 4}
        """);
        assertThat(w.client().maxOutstanding()).isEqualTo(4);
        assertThat(w.withSeed(9).client()).isEqualTo(w.client());
    }
}

package io.twinserve.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.profile.Profiles;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients that answer to the server are planned at the rate they sustain against the planned replica, and
 * the twin's run of the workload itself (its client as specified) agrees with that rate.
 */
class ClientLoadTest {
    private static final String LENGTHS = """
      lengths:
        prompt: {type: lognormal, mean: 600, std: 400}
        output: {type: lognormal, mean: 200, std: 150}
        max_total: 8192
      """;

    private static PlanTwin.Verification planAndVerify(String yaml, double[] scaleBounds) throws Exception {
        WorkloadSpec spec = WorkloadSpecs.parse(yaml, Path.of("client.yaml"));
        Planner.Request r = WorkloadRequests.of(spec, Path.of("."), "llama-3.1-8b", null, Labels.Objective.COST);
        Planner planner = new Planner(PlacementModel.builtIn());
        Planner.Plan open = planner.plan(r);
        ClientLoad.Adjusted a =
                ClientLoad.plan(planner, r, ClientLoad.Client.of(spec.client(), Path.of(".")), Profiles.builtIn());
        assertThat(a.estimate().scale()).isBetween(scaleBounds[0], scaleBounds[1]);
        assertThat(a.plan().offeredTps()).isLessThan(open.offeredTps());
        assertThat(a.estimate().responseS()).isGreaterThan(a.estimate().stepMs() / 1e3 * 150);
        // the verification runs the spec's own client (users or cap scaled to the replica's share of the traffic)
        return planner.twin().verify(a.plan(), a.request(), Profiles.builtIn(), Path.of("."), SloSpec.DEFAULTS);
    }

    @Test
    void closedLoopUsersArePlannedAtTheRateTheySustain() throws Exception {
        PlanTwin.Verification v = planAndVerify("""
        name: closed
        seed: 11
        requests: 3000
        arrivals: {type: poisson, rate: 8}
        adapters: {count: 16, ranks: [16], popularity: {type: zipf, exponent: 1.0}}
        client: {users: 32, think_time_s: {type: exponential, mean: 2}}
        """ + LENGTHS, new double[] {0.4, 0.8});
        // planned at the arrival process's 8 requests/s, the prediction was 71% above the twin's run
        assertThat(v.simulated().fits()).isTrue();
        assertThat(Math.abs(v.errorPct())).isLessThanOrEqualTo(4.0);
        // what closed-loop users send is part of the prediction: the throughputs themselves are compared
        assertThat(v.sharesCompared()).isFalse();
        assertThat(v.verdict().met()).isTrue();
    }

    @Test
    void aCappedClientIsPlannedAtTheRateItsCapLetsThrough() throws Exception {
        PlanTwin.Verification v = planAndVerify("""
        name: capped
        seed: 5
        duration_s: 600
        arrivals: {type: poisson, rate: 40}
        adapters: {count: 64, ranks: [8, 16, 32], popularity: {type: zipf, exponent: 1.0}}
        client: {max_outstanding: 256}
        lengths:
          prompt: {type: lognormal, mean: 800, std: 600}
          output: {type: lognormal, mean: 250, std: 200}
          max_total: 8192
        """, new double[] {0.3, 0.9});
        // planned at the open-loop rate, the prediction was 74% above the twin's run
        assertThat(Math.abs(v.errorPct())).isLessThanOrEqualTo(4.0);
    }

    @Test
    void aCapThatDoesNotBindLeavesTheRateAlone() throws Exception {
        WorkloadSpec spec = WorkloadSpecs.parse("""
        name: light
        seed: 2
        duration_s: 600
        arrivals: {type: poisson, rate: 2}
        adapters: {count: 16, ranks: [16]}
        client: {max_outstanding: 1000}
        """ + LENGTHS, Path.of("light.yaml"));
        Planner.Request r = WorkloadRequests.of(spec, Path.of("."), "llama-3.1-8b", null, Labels.Objective.COST);
        Planner planner = new Planner(PlacementModel.builtIn());
        ClientLoad.Adjusted a =
                ClientLoad.plan(planner, r, ClientLoad.Client.of(spec.client(), Path.of(".")), Profiles.builtIn());
        assertThat(a.estimate().scale()).isEqualTo(1.0);
        assertThat(a.plan().offeredTps()).isEqualTo(planner.plan(r).offeredTps());
    }

    @Test
    void anOpenLoopClientHasNoClientLoadAndThinkTimesAreReadForTheirMean(@TempDir Path dir) throws Exception {
        assertThat(ClientLoad.Client.of(null, dir)).isNull();
        Files.writeString(dir.resolve("think.csv"), "s\n1\n2\n6\n");
        WorkloadSpec spec = WorkloadSpecs.parse("""
        name: empirical
        seed: 2
        requests: 100
        arrivals: {type: poisson, rate: 2}
        adapters: {count: 4, ranks: [16]}
        client: {users: 4, think_time_s: {type: empirical, file: think.csv, column: s}}
        """ + LENGTHS, dir.resolve("e.yaml"));
        // an empirical think time: its column's mean (the users' rate depends on the mean pause only)
        assertThat(ClientLoad.Client.of(spec.client(), dir).thinkMeanS()).isEqualTo(3.0);
        WorkloadSpec fixed = WorkloadSpecs.parse("""
        name: fixed
        seed: 2
        requests: 100
        arrivals: {type: poisson, rate: 2}
        adapters: {count: 4, ranks: [16]}
        client: {users: 4, think_time_s: 1.5}
        """ + LENGTHS, dir.resolve("f.yaml"));
        assertThat(ClientLoad.Client.of(fixed.client(), dir).thinkMeanS()).isEqualTo(1.5);
        assertThatThrownBy(() -> ClientLoad.Client.of(
                        WorkloadSpecs.parse("""
        name: missing
        seed: 2
        requests: 100
        arrivals: {type: poisson, rate: 2}
        adapters: {count: 4, ranks: [16]}
        client: {users: 4, think_time_s: {type: empirical, file: none.csv, column: s}}
        """ + LENGTHS, dir.resolve("m.yaml"))
                                .client(),
                        dir))
                .hasMessageContaining("client.think_time_s.file")
                .hasMessageContaining("none.csv");
    }
}

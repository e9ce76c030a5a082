package io.twinserve.twin.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.perf.AllReduceModel;
import io.twinserve.twin.perf.AnalyticAllReduceModel;
import io.twinserve.twin.perf.InterconnectSpec;
import io.twinserve.twin.perf.StepShape;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The interconnect a deployment's tensor-parallel all-reduces run over. */
class InterconnectDeploymentsTest {
    private static final Profiles PROFILES = Profiles.builtIn();

    private static DeploymentSpec parse(String yaml) {
        return Deployments.parse(yaml, Path.of("d.yaml"));
    }

    private static String keyPath(Throwable e) {
        return ((SpecException) e).keyPath();
    }

    @Test
    void theDefaultOverloadsUseTheGpusAnalyticInterconnect() throws IOException {
        DeploymentSpec spec = parse("model: llama-3.1-70b\ngpu: h100-sxm-80gb\nreplica: {tp: 4}\n");
        ResolvedReplica byDefault = Deployments.resolve(spec, PROFILES);
        ResolvedReplica explicit =
                Deployments.resolve(spec, PROFILES, null, AnalyticAllReduceModel.forGpu(PROFILES.gpu("h100-sxm-80gb")));
        ResolvedReplica slowLink = Deployments.resolve(
                spec,
                PROFILES,
                null,
                AllReduceModel.of(new InterconnectSpec.Analytic(50.0, 64.0), PROFILES.gpu("h100-sxm-80gb"), null));
        StepShape prefill = new StepShape();
        prefill.addSequence(2_048, 0, false, true, true, false);
        assertThat(explicit.perf().stepNs(prefill)).isEqualTo(byDefault.perf().stepNs(prefill));
        assertThat(slowLink.perf().stepNs(prefill))
                .isGreaterThan(byDefault.perf().stepNs(prefill));
    }

    @Test
    void aTensorParallelDegreeTheMeasuredInterconnectLacksIsRejectedNamingTheDegreesItHas() throws Exception {
        Path table = Path.of(getClass()
                .getResource("/vidur/network/h100_pairwise_nvlink/all_reduce.csv")
                .toURI());
        AllReduceModel pairwise =
                AllReduceModel.of(new InterconnectSpec.Profiled(table.toString()), PROFILES.gpu("h100-sxm-80gb"), null);
        ResolvedReplica tp4 = Deployments.resolve(
                parse("model: llama-3.1-70b\ngpu: h100-sxm-80gb\nreplica: {tp: 4}\n"), PROFILES, null, pairwise);
        assertThat(tp4.perf().stepNs(StepShape.decodeBatch(8, 100))).isPositive();
        assertThatThrownBy(() -> Deployments.resolve(
                        parse("model: llama-3.1-70b\ngpu: h100-sxm-80gb\nreplica: {tp: 8}\n"),
                        PROFILES,
                        null,
                        pairwise))
                .isInstanceOf(SpecException.class)
                .satisfies(e -> assertThat(keyPath(e)).isEqualTo("replica.tp"))
                .hasMessageContaining(table.toString())
                .hasMessageContaining("num_workers [2, 4]");
    }
}

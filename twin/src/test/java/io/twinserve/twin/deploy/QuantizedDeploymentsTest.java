package io.twinserve.twin.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.perf.StepShape;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The replica keys weight_dtype and kv_cache_dtype. */
class QuantizedDeploymentsTest {
    private static final Profiles PROFILES = Profiles.builtIn();
    private static final String LLAMA_8B_ON_H100 = "model: llama-3.1-8b\ngpu: h100-sxm-80gb\n";

    private static DeploymentSpec parse(String yaml) {
        return Deployments.parse(yaml, Path.of("d.yaml"));
    }

    private static ResolvedReplica resolve(String yaml) throws IOException {
        return Deployments.resolve(parse(yaml), PROFILES);
    }

    private static String keyPath(Throwable e) {
        return ((SpecException) e).keyPath();
    }

    @Test
    void weightAndKvCacheDtypesAreReadAndSetTheServedModel() throws IOException {
        ResolvedReplica r =
                resolve(LLAMA_8B_ON_H100 + "replica: {max_adapters: 0, weight_dtype: fp8, kv_cache_dtype: fp8}\n");
        assertThat(r.model().dtype()).isEqualTo("fp8");
        assertThat(r.model().kvCacheDtype()).isEqualTo("fp8");
        ResolvedReplica bf16 = resolve(LLAMA_8B_ON_H100 + "replica: {max_adapters: 0}\n");
        assertThat(r.memory().weightBytes()).isEqualTo(bf16.memory().weightBytes() / 2);
        assertThat(r.memory().kvCacheTokens()).isGreaterThan(2 * bf16.memory().kvCacheTokens());
        StepShape decode = StepShape.decodeBatch(32, 2_000);
        assertThat(r.perf().stepNs(decode)).isLessThan(bf16.perf().stepNs(decode));
    }

    @Test
    void anUnknownDtypeNamesTheKeyAndTheChoices() {
        assertThatThrownBy(() -> parse(LLAMA_8B_ON_H100 + "replica: {weight_dtype: int4}\n"))
                .isInstanceOf(SpecException.class)
                .satisfies(e -> assertThat(keyPath(e)).isEqualTo("replica.weight_dtype"))
                .hasMessageContaining("expected one of auto, bf16, fp16, fp8, got 'int4'");
    }

    @Test
    void aProfiledPerfModelRefusesFp8WeightsItsTableWasNotMeasuredAt() {
        assertThatThrownBy(() -> resolve(LLAMA_8B_ON_H100 + """
        replica: {weight_dtype: fp8}
        perf_model: {type: profiled, table: mlp.csv}
        """))
                .isInstanceOf(SpecException.class)
                .satisfies(e -> assertThat(keyPath(e)).isEqualTo("replica.weight_dtype"))
                .hasMessageContaining("must keep the checkpoint's bf16 with perf_model profiled")
                .hasMessageContaining("got fp8");
    }
}

package io.twinserve.twin.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.Request;
import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.sched.SchedulerConfig;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The one admission rule and the adapter checks every loop applies before queueing a request. */
class AdmissionTest {
    private static final AdapterCache.LoadTimes INSTANT = AdapterCache.LoadTimes.fixed(0, 0);

    @Test
    void refusesARequestTheWholeCacheCannotHoldOrLongerThanTheModel() {
        // 8 blocks of 16 tokens
        ReplicaCore core =
                new ReplicaCore(new SchedulerConfig(8, 512, true, 16, 128, true, 2, 4, 64, 200, false), INSTANT, true);
        assertThat(core.admissible(112, 17))
                .as("7 prompt blocks, one to spare, 128 tokens computed")
                .isTrue();
        assertThat(core.admissible(113, 1))
                .as("8 prompt blocks leave none for the first decode")
                .isFalse();
        assertThat(core.admissible(100, 30))
                .as("129 tokens computed need 9 blocks")
                .isFalse();
        ReplicaCore shortModel =
                new ReplicaCore(new SchedulerConfig(8, 512, true, 16, 4096, true, 2, 4, 64, 100, false), INSTANT, true);
        assertThat(shortModel.admissible(90, 10)).isTrue();
        assertThat(shortModel.admissible(90, 11)).as("above max_model_len").isFalse();
    }

    @Test
    void numbersAdaptersInOrderOfFirstUseAndChecksTheirRanks() {
        AdapterIndex index = new AdapterIndex(4, 16, "deployment d: ");
        assertThat(index.indexOf(Request.of(1, 0, "b", 10, 10), Map.of("b", 8), 16))
                .isZero();
        assertThat(index.indexOf(Request.of(2, 0, "a", 10, 10), Map.of(), 16)).isEqualTo(1);
        assertThat(index.indexOf(Request.of(3, 0, "b", 10, 10), Map.of(), 16)).isZero();
        assertThat(index.indexOf(Request.of(4, 0, null, 10, 10), Map.of(), 16)).isEqualTo(-1);
        assertThat(index.rank(0)).isEqualTo(8);
        assertThat(index.rank(1)).isEqualTo(16);
        assertThat(index.rank(-1)).isZero();
        assertThatThrownBy(() -> index.indexOf(Request.of(5, 0, "big", 10, 10), Map.of("big", 32), 16))
                .hasMessage(
                        "deployment d: adapter big has rank 32, above max_adapter_rank 16; raise replica.max_adapter_rank");
        AdapterIndex noLora = new AdapterIndex(0, 16, "");
        assertThatThrownBy(() -> noLora.indexOf(Request.of(6, 0, "a", 10, 10), Map.of(), 16))
                .hasMessage("request 6 uses adapter a but replica.max_adapters is 0 (LoRA disabled)");
    }
}

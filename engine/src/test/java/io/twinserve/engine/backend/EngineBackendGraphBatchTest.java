package io.twinserve.engine.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The switch of the CUDA backend's decode graphs, read from the environment, and its errors. */
class EngineBackendGraphBatchTest {

    @Test
    void unsetIsOffAndAValueIsTheLargestBatchReplayed() {
        assertThat(EngineBackend.graphBatch(null)).isZero();
        assertThat(EngineBackend.graphBatch(" ")).isZero();
        assertThat(EngineBackend.graphBatch("64")).isEqualTo(64);
        assertThat(EngineBackend.graphBatch("0")).isZero();
    }

    @Test
    void anythingElseNamesTheVariableAndTheRange() {
        for (String bad : new String[] {"yes", "-1", "257", "6.5"}) {
            assertThatThrownBy(() -> EngineBackend.graphBatch(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("TWINSERVE_CUDA_GRAPH_BATCH=" + bad
                            + ": expected the largest decode batch to replay as a CUDA graph, 0 (off) to 256");
        }
    }
}

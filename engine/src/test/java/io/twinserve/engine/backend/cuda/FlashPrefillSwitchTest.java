package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.write.RandomModel;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Where ts_prefill_attention's tiles serve a model, and TWINSERVE_CUDA_FLASH_PREFILL's values. */
class FlashPrefillSwitchTest {
    private static ModelConfig llama(int headDim) {
        return RandomModel.config(
                Architecture.LLAMA, 2, 2 * headDim, 96, 2, 1, headDim, 80, DType.BF16, false, 1, List.of(2));
    }

    @Test
    void tilesServeHeadsOf128WithABf16CacheUnlessSwitchedOff() {
        assertThat(CudaBackend.flashPrefillFor(llama(128), false, null)).isTrue();
        assertThat(CudaBackend.flashPrefillFor(llama(128), false, " 1")).isTrue();
        assertThat(CudaBackend.flashPrefillFor(llama(128), false, "")).isTrue();
        assertThat(CudaBackend.flashPrefillFor(llama(128), false, "0")).isFalse();
        // the kernel holds heads of 128 and bf16 K/V only
        assertThat(CudaBackend.flashPrefillFor(llama(64), false, null)).isFalse();
        assertThat(CudaBackend.flashPrefillFor(llama(128), true, null)).isFalse();
    }

    @Test
    void anyOtherValueIsRefusedNamingTheVariableAndTheChoices() {
        assertThatThrownBy(() -> CudaBackend.flashPrefillFor(llama(128), false, "yes"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("TWINSERVE_CUDA_FLASH_PREFILL=yes: expected 1 (tensor-core prefill attention where it"
                        + " applies) or 0 (the row kernel for every row)");
    }
}

package io.twinserve.twin.memory;

import io.twinserve.twin.profile.ModelProfile;

/**
 * The fitted memory parameters of an engine on a GPU for a model.
 *
 * @param activationBytes reserved for activations and workspaces with LoRA disabled (vLLM's profiled
 *     peak plus non-torch memory)
 * @param loraEnabledBytes extra reserve as soon as LoRA is enabled (LoRA kernels' workspaces)
 * @param loraSlotBytes per adapter slot, whatever the rank
 * @param loraTensorScale multiplies the bytes of the stacked LoRA A and B tensors of every target
 *     projection (slots x rank x width), each rounded up to {@code allocationGranularityBytes}
 * @param allocationGranularityBytes PyTorch's caching allocator rounds large blocks up to 2 MiB
 */
public record MemoryCalibration(
        long activationBytes,
        long loraEnabledBytes,
        long loraSlotBytes,
        double loraTensorScale,
        long allocationGranularityBytes) {

    public static final long TWO_MIB = 2L << 20;

    /**
     * Uncalibrated defaults, scaled from the two calibrated models (Llama-3.1-8B and Qwen2.5-7B on vLLM
     * 0.8.5): logits of a full token budget in fp32 dominate the activation reserve, and the LoRA
     * workspace grows with the budget and the hidden size.
     */
    public static MemoryCalibration defaults(ModelProfile model, int maxNumBatchedTokens) {
        long activation = (256L << 20) + (long) maxNumBatchedTokens * model.vocabSize() * 4L;
        long loraEnabled = (long) maxNumBatchedTokens * model.hiddenSize() * 440L;
        return new MemoryCalibration(activation, loraEnabled, 0, 1.0, TWO_MIB);
    }
}

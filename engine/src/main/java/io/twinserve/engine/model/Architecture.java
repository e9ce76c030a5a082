package io.twinserve.engine.model;

/** The decoder families the engine runs: one Llama-style block with a few switches. */
public enum Architecture {
    LLAMA("llama", "LlamaForCausalLM", false, false),
    MISTRAL("mistral", "MistralForCausalLM", false, false),
    QWEN2("qwen2", "Qwen2ForCausalLM", true, false),
    QWEN3("qwen3", "Qwen3ForCausalLM", false, true);

    private final String modelType;
    private final String className;
    private final boolean qkvBias;
    private final boolean qkNorm;

    Architecture(String modelType, String className, boolean qkvBias, boolean qkNorm) {
        this.modelType = modelType;
        this.className = className;
        this.qkvBias = qkvBias;
        this.qkNorm = qkNorm;
    }

    /** {@code config.json}'s {@code model_type}. */
    public String modelType() {
        return modelType;
    }

    /** {@code config.json}'s {@code architectures[0]}. */
    public String className() {
        return className;
    }

    /** Whether q, k and v projections always carry a bias (Qwen2). */
    public boolean qkvBias() {
        return qkvBias;
    }

    /** Whether q and k are RMS-normalised per head before RoPE (Qwen3). */
    public boolean qkNorm() {
        return qkNorm;
    }

    /** The architecture of a {@code model_type} or class name, or null. */
    public static Architecture of(String name) {
        for (Architecture a : values()) {
            if (a.modelType.equals(name) || a.className.equals(name)) {
                return a;
            }
        }
        return null;
    }

    /** Every accepted name, for error messages. */
    public static String accepted() {
        StringBuilder b = new StringBuilder();
        for (Architecture a : values()) {
            b.append(b.isEmpty() ? "" : ", ")
                    .append(a.className)
                    .append(" (")
                    .append(a.modelType)
                    .append(')');
        }
        return b.toString();
    }
}

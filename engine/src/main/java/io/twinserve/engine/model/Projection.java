package io.twinserve.engine.model;

/** The linear projections of a decoder layer that a LoRA adapter may target, with PEFT's names. */
public enum Projection {
    Q("q_proj", "self_attn"),
    K("k_proj", "self_attn"),
    V("v_proj", "self_attn"),
    O("o_proj", "self_attn"),
    GATE("gate_proj", "mlp"),
    UP("up_proj", "mlp"),
    DOWN("down_proj", "mlp");

    private final String peftName;
    private final String block;

    Projection(String peftName, String block) {
        this.peftName = peftName;
        this.block = block;
    }

    public String peftName() {
        return peftName;
    }

    /** The module path inside layer {@code layer}, e.g. {@code model.layers.3.self_attn.q_proj}. */
    public String modulePath(int layer) {
        return "model.layers." + layer + "." + block + "." + peftName;
    }

    public int inDim(ModelConfig c) {
        return switch (this) {
            case Q, K, V, GATE, UP -> c.hiddenSize();
            case O -> c.qDim();
            case DOWN -> c.intermediateSize();
        };
    }

    public int outDim(ModelConfig c) {
        return switch (this) {
            case Q -> c.qDim();
            case K, V -> c.kvDim();
            case O, DOWN -> c.hiddenSize();
            case GATE, UP -> c.intermediateSize();
        };
    }

    /** The projection a PEFT target name denotes (the last dotted part), or null. */
    public static Projection ofPeft(String name) {
        String last = name.substring(name.lastIndexOf('.') + 1);
        for (Projection p : values()) {
            if (p.peftName.equals(last)) {
                return p;
            }
        }
        return null;
    }
}

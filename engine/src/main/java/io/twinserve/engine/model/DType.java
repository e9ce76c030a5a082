package io.twinserve.engine.model;

/** A tensor element type the engine reads from safetensors files. */
public enum DType {
    BF16("BF16", 2),
    F16("F16", 2),
    F32("F32", 4);

    private final String safetensorsName;
    private final int bytes;

    DType(String safetensorsName, int bytes) {
        this.safetensorsName = safetensorsName;
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** The name in a safetensors header ({@code "BF16"}, {@code "F16"}, {@code "F32"}). */
    public String safetensorsName() {
        return safetensorsName;
    }

    /** The type of a safetensors header's {@code dtype}, or null when the engine does not support it. */
    public static DType ofSafetensors(String name) {
        for (DType d : values()) {
            if (d.safetensorsName.equals(name)) {
                return d;
            }
        }
        return null;
    }

    /**
     * The type named by {@code config.json}'s {@code torch_dtype} ({@code bfloat16}, {@code float16},
     * {@code float32}) or by the short names the command line offers ({@code bf16}, {@code f16}, {@code f32}).
     */
    public static DType ofTorch(String name) {
        return switch (name) {
            case "bfloat16", "bf16" -> BF16;
            case "float16", "f16", "fp16", "half" -> F16;
            case "float32", "f32", "fp32", "float" -> F32;
            default ->
                throw new IllegalArgumentException("dtype '" + name + "' is not supported; expected bf16, f16 or f32");
        };
    }

    /** Rounds a float to bfloat16 bits (round to nearest even), as PyTorch does. */
    public static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float fromBf16(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }
}

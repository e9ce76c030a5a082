package io.twinserve.traces.format;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The trace file formats twinserve reads and writes, by the name users type. */
public enum TraceFormat {
    /** Azure LLM inference traces 2023/2024: {@code TIMESTAMP,ContextTokens,GeneratedTokens}. */
    AZURE("azure", "csv"),
    /** Mooncake FAST'25 JSON Lines: {@code timestamp} (ms), lengths and 512-token {@code hash_ids}. */
    MOONCAKE("mooncake", "jsonl"),
    /** BurstGPT CSV: {@code Timestamp,[Session ID,Elapsed time,]Model,Request tokens,Response tokens,...}. */
    BURSTGPT("burstgpt", "csv"),
    /** twinserve's own CSV, lossless. */
    CSV("csv", "csv"),
    /** twinserve's own JSON Lines, lossless. */
    JSONL("jsonl", "jsonl");

    private final String cliName;
    private final String extension;

    TraceFormat(String cliName, String extension) {
        this.cliName = cliName;
        this.extension = extension;
    }

    public String cliName() {
        return cliName;
    }

    public String extension() {
        return extension;
    }

    /** Whether every field of a {@link io.twinserve.traces.Request} survives a write and read. */
    public boolean isLossless() {
        return this == CSV || this == JSONL;
    }

    public static TraceFormat fromName(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        for (TraceFormat f : values()) {
            if (f.cliName.equals(n)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown trace format '" + name + "'; expected one of " + names());
    }

    public static String names() {
        return Arrays.stream(values()).map(TraceFormat::cliName).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return cliName;
    }
}

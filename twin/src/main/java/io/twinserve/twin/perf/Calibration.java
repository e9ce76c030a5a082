package io.twinserve.twin.perf;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinserve.twin.memory.MemoryCalibration;

/**
 * A fitted calibration of one engine on one GPU for one model, as {@code twinserve calibrate} writes it:
 * memory and roofline parameters, each input row's fit error, and provenance.
 */
public record Calibration(
        String name,
        String engine,
        String gpu,
        String model,
        MemoryCalibration memory,
        RooflineParams roofline,
        JsonNode fit,
        JsonNode provenance) {}

package io.twinserve.twin.perf;

import io.twinserve.twin.profile.ModelProfile;

/**
 * The roofline model with its linear layers replaced by measured operator timings (a Vidur-format
 * table): a step costs the table's per-layer time for its token count times the layers, plus the
 * embedding, plus the roofline's attention, LM head, LoRA, tensor-parallel and overhead terms. This is
 * how measured profiles calibrate the twin.
 */
public final class ProfiledPerfModel implements PerfModel {
    private final RooflinePerfModel roofline;
    private final VidurMlpTable table;
    private final int layers;

    public ProfiledPerfModel(RooflinePerfModel roofline, VidurMlpTable table, ModelProfile model) {
        if (table.hiddenSize() != model.hiddenSize() || table.intermediateSize() != model.intermediateSize()) {
            throw new IllegalArgumentException("profile table " + table.file() + " is for hidden size "
                    + table.hiddenSize() + " and MLP size " + table.intermediateSize() + ", but model " + model.name()
                    + " has " + model.hiddenSize() + " and " + model.intermediateSize());
        }
        this.roofline = roofline;
        this.table = table;
        this.layers = model.layers();
    }

    @Override
    public long stepNs(StepShape step) {
        if (step.sequences == 0) {
            return 0;
        }
        double measured = (layers * table.layerMs(step.newTokens) + table.embeddingMs(step.newTokens)) * 1e6;
        return (long) (roofline.stepNs(step) - roofline.linearNs(step.newTokens) + measured);
    }

    @Override
    public long adapterLoadFromCpuNs(int rank, int slotRank) {
        return roofline.adapterLoadFromCpuNs(rank, slotRank);
    }

    @Override
    public long adapterLoadFromStorageNs(int rank) {
        return roofline.adapterLoadFromStorageNs(rank);
    }

    @Override
    public long requestLatencyNs() {
        return roofline.requestLatencyNs();
    }
}

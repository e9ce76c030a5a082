package io.twinserve.twin.perf;

/** Prices scheduler steps and adapter loads; one implementation per kind of model. */
public interface PerfModel {

    /** Duration of one step of this shape, in ns. */
    long stepNs(StepShape step);

    /**
     * The steps of a decode stretch that starts with {@code first} (see {@link DecodeStretch}). By default
     * each step is priced by {@link #stepNs} on a copy of the shape; models with a closed form override it.
     * The shape is copied, so the caller may reuse {@code first} afterwards.
     */
    default DecodeStretch decodeStretch(StepShape first) {
        StepShape base = first.copy();
        StepShape step = first.copy();
        long decoders = first.decodeSequences;
        return i -> {
            step.decodeContextTokens = base.decodeContextTokens + i * decoders;
            step.kvReadTokens = base.kvReadTokens + i * decoders;
            return stepNs(step);
        };
    }

    /**
     * As {@link #decodeStretch(StepShape)}, with two hints a loop has at hand: {@code reuse} (null, or a stretch this
     * model returned before that its caller no longer uses) may be refilled and returned instead of a new one, and
     * {@code firstStepNs} is what {@link #stepNs} gave {@code first} (negative when not known), so a model need not
     * price that shape twice.
     */
    default DecodeStretch decodeStretch(StepShape first, DecodeStretch reuse, long firstStepNs) {
        return decodeStretch(first);
    }

    /**
     * Time to copy an adapter of {@code rank} from host memory into a GPU slot reserved at
     * {@code slotRank}, in ns.
     */
    long adapterLoadFromCpuNs(int rank, int slotRank);

    /** Time to read an adapter of {@code rank} from storage into host memory, in ns. */
    long adapterLoadFromStorageNs(int rank);

    /**
     * Time a request spends outside the engine's steps (HTTP, tokenisation, hand-off, detokenisation,
     * streaming), in ns: the server sees a request this long after it was sent. 0 unless calibrated.
     */
    default long requestLatencyNs() {
        return 0;
    }
}

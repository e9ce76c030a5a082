package io.twinserve.engine.profile;

/** The measured time to copy an adapter of {@code rank} from host memory into a backend slot. */
public record AdapterLoadMeasurement(int rank, long bytesCopied, long medianNs, int repetitions) {
    public AdapterLoadMeasurement {
        if (rank < 1 || bytesCopied < 0 || medianNs <= 0 || repetitions < 1) {
            throw new IllegalArgumentException("invalid adapter load measurement: rank " + rank + ", " + bytesCopied
                    + " bytes, " + medianNs + " ns, " + repetitions + " repetitions");
        }
    }
}

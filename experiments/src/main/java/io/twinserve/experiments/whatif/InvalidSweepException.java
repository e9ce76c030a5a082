package io.twinserve.experiments.whatif;

/** A swept key or value the spec it edits refuses: names the key and says what the spec's parser found wrong. */
public final class InvalidSweepException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String key;
    private final String problem;

    public InvalidSweepException(String key, String problem, Throwable cause) {
        super("sweep key '" + key + "': " + problem, cause);
        this.key = key;
        this.problem = problem;
    }

    /** The swept key, as given ({@code replica.max_adapters}). */
    public String key() {
        return key;
    }

    /** What was wrong with it. */
    public String problem() {
        return problem;
    }
}

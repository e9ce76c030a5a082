package io.twinserve.api.server.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.spec.SpecException;
import org.junit.jupiter.api.Test;

/** A failed job's error is a sentence its owner can act on, never Java's own text. */
class JobFailureTest {
    @Test
    void runningOutOfMemorySaysWhatToDoWithoutJavasText() {
        String m = JobFailure.describe("job-1", new OutOfMemoryError("Java heap space"));
        assertThat(m).contains("ran out of memory").contains("smaller workload").doesNotContain("Java heap space");
    }

    @Test
    void aFailureTheOwnerCanActOnKeepsItsMessage() {
        assertThat(JobFailure.describe("job-1", new SpecException("arrivals.rate", "must be > 0, got -1")))
                .contains("arrivals.rate")
                .contains("must be > 0");
        assertThat(JobFailure.describe("job-1", new IllegalArgumentException("configuration x does not fit")))
                .isEqualTo("configuration x does not fit");
    }

    @Test
    void anInternalErrorNamesTheJobAndNotTheException() {
        String m = JobFailure.describe("job-7", new NullPointerException("Cannot invoke \"Object.toString()\""));
        assertThat(m).contains("internal error").contains("job-7");
        assertThat(m).doesNotContain("NullPointerException").doesNotContain("Cannot invoke");
        assertThat(JobFailure.describe("job-7", new StackOverflowError())).doesNotContain("StackOverflowError");
    }
}

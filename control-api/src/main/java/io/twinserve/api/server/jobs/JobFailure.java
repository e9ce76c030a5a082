package io.twinserve.api.server.jobs;

import io.twinserve.experiments.whatif.InvalidSweepException;
import io.twinserve.experiments.whatif.SweepConfigurationException;
import io.twinserve.traces.format.TraceFormatException;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.profile.ProfileException;

/**
 * What a failed job tells its owner: the message of a failure they can act on (a spec the parser refused,
 * a configuration that does not fit, a sweep that cannot run), and otherwise a plain sentence with the job's
 * id, never a Java class name or stack text (those go to the server's log).
 */
final class JobFailure {
    private JobFailure() {}

    static String describe(String jobId, Throwable e) {
        return switch (e) {
            case OutOfMemoryError ignored ->
                "the job ran out of memory: its simulation needs more than the server"
                        + " grants a job; run a smaller workload (fewer requests, a shorter duration_s or a smaller"
                        + " sweep), or run it with twinserve what-if on a machine of its own";
            case SpecException s -> s.getMessage();
            case TraceFormatException t -> t.getMessage();
            case InsufficientGpuMemoryException m -> m.getMessage();
            case ProfileException p -> p.getMessage();
            case InvalidSweepException s -> "'sweep' key '" + s.key() + "': " + s.problem();
            case SweepConfigurationException s -> s.getMessage();
            case IllegalArgumentException a when a.getMessage() != null -> a.getMessage();
            default -> "the job failed with an internal error; the server's log has the details under job " + jobId;
        };
    }
}

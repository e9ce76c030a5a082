package io.twinserve.twin.router;

import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.perf.StepShape;
import io.twinserve.twin.sched.SchedulerConfig;

/**
 * The prices behind a replica's {@link RoutableReplica#estimatedPrefillNs}: one token of a full-budget
 * prefill chunk, and one sequence's share of a decode step.
 */
public record PrefillPrices(double prefillNsPerToken, double decodeNsPerSequence) {

    /** From the replica's perf model: a full chunk, and a decode step of 64 sequences at 1,024 tokens. */
    public static PrefillPrices of(ResolvedReplica replica) {
        SchedulerConfig c = replica.scheduler();
        StepShape chunk = new StepShape();
        chunk.addSequence(c.maxNumBatchedTokens(), 0, false, true, true, false);
        double prefill = (double) replica.perf().stepNs(chunk) / c.maxNumBatchedTokens();
        double decode = replica.perf().stepNs(StepShape.decodeBatch(64, 1024)) / 64.0;
        return new PrefillPrices(prefill, decode);
    }

    /**
     * When a prefill of {@code tokens} more would finish, from now: the prefill backlog and these tokens at
     * the price of a full chunk, plus each outstanding request's share of the steps that interleave with it.
     */
    public double estimatedPrefillNs(long pendingPrefillTokens, long tokens, long outstanding) {
        return (pendingPrefillTokens + tokens) * prefillNsPerToken + outstanding * decodeNsPerSequence;
    }
}

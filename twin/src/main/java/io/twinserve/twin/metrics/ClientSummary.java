package io.twinserve.twin.metrics;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What the benchmark client did: how many requests it sent, how many waited at the client (for a free
 * slot under {@code max_outstanding}) and for how long, and how many never left it before the window
 * closed.
 *
 * @param maxOutstanding the cap on requests in flight; null for none
 * @param users closed-loop users; null for an open-loop client
 * @param sent requests sent to the server (what the server counts as arrived)
 * @param waited requests sent later than their intended time
 * @param unsent requests whose intended time fell within the window but that were still at the client
 *     when it closed
 * @param clientWait from the intended time to the send, over the requests sent (0 for those that did not wait)
 * @param peakQueue the most requests waiting at the client at one instant (unsent ones included)
 * @param peakOutstanding the most requests in flight at one instant
 */
public record ClientSummary(
        @JsonInclude(JsonInclude.Include.NON_NULL) Integer maxOutstanding,
        @JsonInclude(JsonInclude.Include.NON_NULL) Integer users,
        long sent,
        long waited,
        long unsent,
        Latency clientWait,
        long peakQueue,
        long peakOutstanding) {}

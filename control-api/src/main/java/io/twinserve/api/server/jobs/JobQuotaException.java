package io.twinserve.api.server.jobs;

/**
 * A submission refused because its user already has as many jobs queued or running as {@code
 * twinserve.jobs.per-user} allows; the API answers it with 429 and {@code Retry-After}.
 */
final class JobQuotaException extends RuntimeException {
    JobQuotaException(String user, int open, int quota) {
        super("user '" + user + "' has " + open + " jobs queued or running, the most the server's job quota"
                + " allows a user (twinserve.jobs.per-user = " + quota + "); wait for one to finish, or cancel one"
                + " (POST /api/jobs/{id}/cancel), then submit again");
    }
}

/**
 * The routing policies that pick a deployment's replica for each request ({@link
 * io.twinserve.twin.router.Router}, built from a {@link io.twinserve.twin.router.RouterSpec}), over a
 * read-only view of a replica ({@link io.twinserve.twin.router.RoutableReplica}) and a store of session
 * placements ({@link io.twinserve.twin.router.SessionStore}); the twin's cluster and the server's live
 * and simulated deployments route through the same classes.
 */
package io.twinserve.twin.router;

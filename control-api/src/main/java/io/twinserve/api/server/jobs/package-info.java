/**
 * What-if simulations and plans run as jobs: submitted (bounded, and within their user's quota), run in worker
 * JVMs of their own apart from serving, their progress and results kept in PostgreSQL.
 */
package io.twinserve.api.server.jobs;

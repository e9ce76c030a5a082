/** What-if simulations and plans run as jobs: submitted, run in the background, their progress and results kept in PostgreSQL. */
package io.twinserve.api.server.jobs;

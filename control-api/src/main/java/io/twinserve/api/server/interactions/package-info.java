/** The record of every inference interaction, written to PostgreSQL in batches off the request path. */
package io.twinserve.api.server.interactions;

/** The server's data services: PostgreSQL and Redis from configured URLs, Testcontainers or embedded real servers. */
package io.twinserve.api.server.infra;

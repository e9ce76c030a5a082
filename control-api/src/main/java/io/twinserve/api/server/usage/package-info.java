/** Usage per key, deployment and adapter per minute, counted in memory and kept in Redis. */
package io.twinserve.api.server.usage;

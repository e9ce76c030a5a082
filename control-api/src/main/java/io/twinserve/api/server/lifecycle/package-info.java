/** The server's stop: draining requests, then flushing, in the order that loses nothing. */
package io.twinserve.api.server.lifecycle;

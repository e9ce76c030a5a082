/** The event loop: a replica's scheduler driven by a virtual clock and a performance model. */
package io.twinserve.twin.sim;

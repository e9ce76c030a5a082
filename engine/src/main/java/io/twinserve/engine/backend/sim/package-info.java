/**
 * Simulated serving: a backend that runs no model but waits the twin's predicted step and adapter-load
 * times, so the live loop serves a deployment's twin on the wall clock, with placeholder text.
 */
package io.twinserve.engine.backend.sim;

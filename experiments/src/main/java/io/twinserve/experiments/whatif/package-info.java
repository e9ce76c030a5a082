/**
 * What-if orchestration as a library: single-replica and cluster runs, their sweeps over spec keys, and
 * plans, with typed inputs and results and a progress callback, called by the command line and the server's jobs.
 */
package io.twinserve.experiments.whatif;

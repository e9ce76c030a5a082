/**
 * Twin against live: one workload simulated by the twin on an engine profile and replayed through the
 * live loop on the profiled backend, with the predicted and measured figures side by side.
 */
package io.twinserve.experiments.validate;

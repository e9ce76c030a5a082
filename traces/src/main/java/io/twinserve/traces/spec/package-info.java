/**
 * Workload specs: the YAML schema (documented in docs/workload-spec.md) as validated, immutable records,
 * and the loader that turns YAML errors into messages naming the file, line and key path.
 */
package io.twinserve.traces.spec;

/** Performance models: how long a scheduler step and an adapter load take (roofline and profiled). */
package io.twinserve.twin.perf;

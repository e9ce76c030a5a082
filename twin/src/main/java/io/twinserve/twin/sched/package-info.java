/** The vLLM-V1-style continuous-batching scheduler shared by the twin and (later) the live engine. */
package io.twinserve.twin.sched;

/** How results are written for people and machines: the JSON form of run summaries. */
package io.twinserve.experiments.report;

/**
 * The assembly of a serving replica from a model directory: tokenizer, chat template, backend and live
 * loop with its limits, shared by the server, the command line and the validation runs.
 */
package io.twinserve.engine.serve;

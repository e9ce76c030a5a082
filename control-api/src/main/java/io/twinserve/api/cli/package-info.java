/** The {@code twinserve} command line (picocli): one class per command, thin over the modules below. */
package io.twinserve.api.cli;

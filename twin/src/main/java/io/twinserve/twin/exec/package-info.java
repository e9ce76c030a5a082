/** Running independent work items in parallel. */
package io.twinserve.twin.exec;

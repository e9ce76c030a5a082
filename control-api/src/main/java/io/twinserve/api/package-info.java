/** The twinserve application: its command line now, and the Micronaut server with the control-API issue. */
package io.twinserve.api;

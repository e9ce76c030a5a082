/** The web console: its page, static files, sign-in sessions and the YAML check its editors use. */
package io.twinserve.api.server.console;

/** API keys, roles and grants: who may call what, checked on every request. */
package io.twinserve.api.server.auth;

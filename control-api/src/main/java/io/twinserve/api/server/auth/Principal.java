package io.twinserve.api.server.auth;

import java.util.Map;
import java.util.Set;

/**
 * Who is calling: the key, its user and role, and the user's grants (deployment -> adapters, an empty set
 * meaning every adapter of it and the base model).
 */
public record Principal(long keyId, long userId, String user, Role role, Map<String, Set<String>> grants) {
    public static final String ATTRIBUTE = "twinserve.principal";

    /** Whether this key may run inference on {@code deployment}, with {@code adapter} (null for the base). */
    public boolean mayInfer(String deployment, String adapter) {
        if (role.atLeast(Role.OPERATOR)) {
            return true;
        }
        Set<String> adapters = grants.get(deployment);
        if (adapters == null) {
            return false;
        }
        return adapters.isEmpty() || (adapter != null && adapters.contains(adapter));
    }

    /** Whether this key sees {@code deployment} at all (in /v1/models). */
    public boolean seesDeployment(String deployment) {
        return role.atLeast(Role.OPERATOR) || grants.containsKey(deployment);
    }
}

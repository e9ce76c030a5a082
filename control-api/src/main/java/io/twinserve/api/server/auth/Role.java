package io.twinserve.api.server.auth;

import java.util.Locale;

/**
 * What a key may do. {@code admin}: everything, keys and permissions included. {@code operator}: the
 * registry, simulations, plans and inference on every deployment. {@code user}: inference on the
 * deployments and adapters granted to it, simulations and plans.
 */
public enum Role {
    ADMIN,
    OPERATOR,
    USER;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Role parse(String field, String s) {
        if (s == null) {
            throw new IllegalArgumentException(field + ": is required: one of admin, operator, user");
        }
        try {
            return valueOf(s.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": '" + s + "' is not a role; expected admin, operator or user");
        }
    }

    public boolean atLeast(Role other) {
        return ordinal() <= other.ordinal();
    }
}

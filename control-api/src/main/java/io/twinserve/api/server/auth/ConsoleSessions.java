package io.twinserve.api.server.auth;

import io.twinserve.api.server.infra.Dependencies;
import io.twinserve.api.server.infra.Redis;
import jakarta.inject.Singleton;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The web console's sign-in sessions, in Redis so that every server instance knows them: a session id (the
 * HttpOnly, SameSite=Strict cookie {@link #COOKIE}) names the hash of the API key it was opened with (never the
 * key) and a CSRF token that every state-changing request of the session must echo in {@link #CSRF_HEADER}. What
 * a session may do is exactly what its key may do: each request is authenticated by that key's hash, so a
 * revoked key ends its sessions at once.
 */
@Singleton
public final class ConsoleSessions {
    /** The session cookie. */
    public static final String COOKIE = "twinserve_session";
    /** The header a session's unsafe requests carry its CSRF token in. */
    public static final String CSRF_HEADER = "X-CSRF-Token";
    /** A session lives this long after its last use. */
    public static final long TTL_SECONDS = 12 * 3600;

    private static final String PREFIX = "twinserve:console:session:";
    private static final long TIMEOUT_SECONDS = 2;

    /** An open session: the key it speaks for (by hash) and its CSRF token. */
    public record Session(String id, String keyHash, String csrf) {}

    private final Redis redis;
    private final Dependencies deps;
    private final SecureRandom random = new SecureRandom();

    public ConsoleSessions(Redis redis, Dependencies deps) {
        this.redis = redis;
        this.deps = deps;
    }

    /** Opens a session for the key {@code key} (already authenticated by the caller). */
    public Session open(String key) {
        Session s = new Session(token(), ApiKeys.hash(key), token());
        deps.redis(() -> {
            redis.async()
                    .hset(PREFIX + s.id(), Map.of("key_hash", s.keyHash(), "csrf", s.csrf()))
                    .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            return redis.async().expire(PREFIX + s.id(), TTL_SECONDS).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        });
        return s;
    }

    /** The session {@code id} names, its life extended, or null when there is none (expired, closed, made up). */
    public Session find(String id) {
        if (id == null || id.isEmpty() || id.length() > 64) {
            return null;
        }
        Map<String, String> h =
                deps.redis(() -> redis.async().hgetall(PREFIX + id).get(TIMEOUT_SECONDS, TimeUnit.SECONDS));
        if (h == null || !h.containsKey("key_hash") || !h.containsKey("csrf")) {
            return null;
        }
        deps.redis(() -> redis.async().expire(PREFIX + id, TTL_SECONDS).get(TIMEOUT_SECONDS, TimeUnit.SECONDS));
        return new Session(id, h.get("key_hash"), h.get("csrf"));
    }

    /** Closes a session (signing out). */
    public void close(String id) {
        deps.redis(() -> redis.async().del(PREFIX + id).get(TIMEOUT_SECONDS, TimeUnit.SECONDS));
    }

    private String token() {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}

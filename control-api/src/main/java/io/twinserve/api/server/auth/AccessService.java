package io.twinserve.api.server.auth;

import static io.twinserve.api.db.generated.Tables.API_KEYS;
import static io.twinserve.api.db.generated.Tables.PERMISSIONS;
import static io.twinserve.api.db.generated.Tables.USERS;

import io.micronaut.core.annotation.Nullable;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.infra.Redis;
import jakarta.inject.Singleton;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import org.jooq.DSLContext;
import org.jooq.Record;

/**
 * Users, keys and grants in PostgreSQL, and the cache that keeps the check off the database on the
 * request path. A cached answer lives at most {@link #TTL_NS} and is dropped at once, on every server
 * instance, when any key or grant changes (a Redis message), so a revoked key stops working within a
 * second even if a message were lost.
 */
@Singleton
public final class AccessService {
    public static final String CHANNEL = "twinserve:access:changed";
    static final long TTL_NS = 1_000_000_000L;

    private record Cached(Principal principal, long atNs) {}

    private final DSLContext db;
    private final Redis redis;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Optional<Principal>>> loading = new ConcurrentHashMap<>();

    /** @param redis null where no server caches exist (the admin command with no server running) */
    public AccessService(DSLContext db, @Nullable Redis redis) {
        this.db = db;
        this.redis = redis;
        if (redis != null) {
            redis.subscribe(CHANNEL, m -> cache.clear());
        }
    }

    /** The principal for a key if a fresh answer is cached (no I/O), else null. */
    public Principal cached(String key) {
        Cached c = cache.get(ApiKeys.hash(key));
        return c != null && System.nanoTime() - c.atNs < TTL_NS ? c.principal : null;
    }

    /** The principal for a presented key, or null when the key is unknown or revoked. */
    public Principal authenticate(String key) {
        return authenticateHash(ApiKeys.hash(key));
    }

    /**
     * The principal for a key known by its hash (a console session keeps only the hash), or null when the key
     * is unknown or revoked.
     */
    public Principal authenticateHash(String hash) {
        Cached c = cache.get(hash);
        long now = System.nanoTime();
        if (c != null && now - c.atNs < TTL_NS) {
            return c.principal;
        }
        // one lookup per key at a time: a burst of requests with a key just out of the cache waits for one read
        // instead of taking every pooled connection (which, past the pool's timeout, would look like an outage)
        CompletableFuture<Optional<Principal>> mine = new CompletableFuture<>();
        CompletableFuture<Optional<Principal>> running = loading.putIfAbsent(hash, mine);
        if (running != null) {
            try {
                return running.join().orElse(null);
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        }
        try {
            Principal p = load(hash);
            if (p != null) {
                cache.put(hash, new Cached(p, now));
            } else {
                cache.remove(hash);
            }
            mine.complete(Optional.ofNullable(p));
            return p;
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            loading.remove(hash, mine);
        }
    }

    private Principal load(String hash) {
        Record r = db.select(API_KEYS.ID, USERS.ID, USERS.NAME, USERS.ROLE)
                .from(API_KEYS)
                .join(USERS)
                .on(USERS.ID.eq(API_KEYS.USER_ID))
                .where(API_KEYS.HASH.eq(hash).and(API_KEYS.REVOKED_AT.isNull()))
                .fetchOne();
        if (r == null) {
            return null;
        }
        long userId = r.get(USERS.ID);
        Map<String, Set<String>> grants = new HashMap<>();
        for (var g :
                db.selectFrom(PERMISSIONS).where(PERMISSIONS.USER_ID.eq(userId)).fetch()) {
            Set<String> adapters = grants.computeIfAbsent(g.getDeployment(), d -> new HashSet<>());
            if (g.getAdapter() == null) {
                adapters.add("*");
            } else {
                adapters.add(g.getAdapter());
            }
        }
        Map<String, Set<String>> normalised = new HashMap<>();
        grants.forEach((d, a) -> normalised.put(d, a.contains("*") ? Set.of() : Set.copyOf(a)));
        return new Principal(
                r.get(API_KEYS.ID),
                userId,
                r.get(USERS.NAME),
                Role.parse("role", r.get(USERS.ROLE)),
                Map.copyOf(normalised));
    }

    /** A new key for {@code user} (created with {@code role} if absent). Returns the key, shown once. */
    public CreatedKey createKey(String user, Role role) {
        if (user == null || user.isBlank() || user.length() > 200) {
            throw ApiException.badRequest("user", "user: must be a name of 1 to 200 characters");
        }
        String key = ApiKeys.newKey();
        return db.transactionResult(cfg -> {
            DSLContext tx = cfg.dsl();
            var u = tx.selectFrom(USERS).where(USERS.NAME.eq(user)).fetchOne();
            if (u == null) {
                u = tx.insertInto(USERS)
                        .set(USERS.NAME, user)
                        .set(USERS.ROLE, (role == null ? Role.USER : role).wire())
                        .returning()
                        .fetchOne();
            } else if (role != null && !role.wire().equals(u.getRole())) {
                throw ApiException.conflict(
                        "role",
                        "user '" + user + "' already exists with role " + u.getRole()
                                + "; its keys all share that role");
            }
            var k = tx.insertInto(API_KEYS)
                    .set(API_KEYS.USER_ID, u.getId())
                    .set(API_KEYS.PREFIX, ApiKeys.displayPrefix(key))
                    .set(API_KEYS.HASH, ApiKeys.hash(key))
                    .returning()
                    .fetchOne();
            return new CreatedKey(k.getId(), u.getName(), u.getRole(), key, k.getPrefix());
        });
    }

    public record CreatedKey(long id, String user, String role, String key, String prefix) {}

    public void revokeKey(long id) {
        int n = db.update(API_KEYS)
                .set(API_KEYS.REVOKED_AT, OffsetDateTime.now())
                .where(API_KEYS.ID.eq(id).and(API_KEYS.REVOKED_AT.isNull()))
                .execute();
        if (n == 0) {
            throw ApiException.notFound("id", "no active API key with id " + id);
        }
        changed();
    }

    public List<Map<String, Object>> listKeys() {
        return db.select(API_KEYS.ID, API_KEYS.PREFIX, API_KEYS.CREATED_AT, API_KEYS.REVOKED_AT, USERS.NAME, USERS.ROLE)
                .from(API_KEYS)
                .join(USERS)
                .on(USERS.ID.eq(API_KEYS.USER_ID))
                .orderBy(API_KEYS.ID)
                .fetch(r -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("id", r.get(API_KEYS.ID));
                    m.put("prefix", r.get(API_KEYS.PREFIX));
                    m.put("user", r.get(USERS.NAME));
                    m.put("role", r.get(USERS.ROLE));
                    m.put("created_at", r.get(API_KEYS.CREATED_AT).toString());
                    m.put(
                            "revoked_at",
                            r.get(API_KEYS.REVOKED_AT) == null
                                    ? null
                                    : r.get(API_KEYS.REVOKED_AT).toString());
                    return m;
                });
    }

    /** Grants {@code user} inference on a deployment (every adapter when {@code adapter} is null). */
    public long grant(String user, String deployment, String adapter) {
        if (deployment == null || deployment.isBlank()) {
            throw ApiException.badRequest("deployment", "deployment: is required");
        }
        var u = db.selectFrom(USERS).where(USERS.NAME.eq(user)).fetchOne();
        if (u == null) {
            throw ApiException.notFound("user", "no user named '" + user + "'");
        }
        long id = db.insertInto(PERMISSIONS)
                .set(PERMISSIONS.USER_ID, u.getId())
                .set(PERMISSIONS.DEPLOYMENT, deployment)
                .set(PERMISSIONS.ADAPTER, adapter)
                .returning(PERMISSIONS.ID)
                .fetchOne()
                .getId();
        changed();
        return id;
    }

    public void revokeGrant(long id) {
        if (db.deleteFrom(PERMISSIONS).where(PERMISSIONS.ID.eq(id)).execute() == 0) {
            throw ApiException.notFound("id", "no permission with id " + id);
        }
        changed();
    }

    public List<Map<String, Object>> listGrants() {
        return db.select(PERMISSIONS.ID, USERS.NAME, PERMISSIONS.DEPLOYMENT, PERMISSIONS.ADAPTER)
                .from(PERMISSIONS)
                .join(USERS)
                .on(USERS.ID.eq(PERMISSIONS.USER_ID))
                .orderBy(PERMISSIONS.ID)
                .fetch(r -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("id", r.get(PERMISSIONS.ID));
                    m.put("user", r.get(USERS.NAME));
                    m.put("deployment", r.get(PERMISSIONS.DEPLOYMENT));
                    m.put("adapter", r.get(PERMISSIONS.ADAPTER));
                    return m;
                });
    }

    /** Drops every cached answer here and on the other instances. */
    public void changed() {
        cache.clear();
        if (redis != null) {
            redis.publish(CHANNEL, "changed");
        }
    }
}

package io.twinserve.api.server.interactions;

import static io.twinserve.api.db.generated.Tables.API_KEYS;
import static io.twinserve.api.db.generated.Tables.INTERACTIONS;

import io.twinserve.api.db.generated.tables.records.InteractionsRecord;
import io.twinserve.api.server.auth.Principal;
import io.twinserve.api.server.auth.Role;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;

/**
 * Reads recorded interactions back in id order, filtered, a page at a time (keyset on id: rows written
 * while a client pages are never skipped nor repeated). Operators and admins read every row; a user
 * reads only the calls made with its own keys.
 */
@Singleton
public final class InteractionReader {
    private final DSLContext db;

    public InteractionReader(DSLContext db) {
        this.db = db;
    }

    /** A page: its rows and the cursor of the next one (null at the end). */
    public record Page(List<Map<String, Object>> rows, String nextCursor) {}

    public Page page(InteractionQuery q, Principal caller) {
        List<InteractionsRecord> rows = fetch(q, caller, q.afterId(), q.limit() + 1);
        boolean more = rows.size() > q.limit();
        List<Map<String, Object>> out = new ArrayList<>(Math.min(rows.size(), q.limit()));
        for (int i = 0; i < rows.size() && i < q.limit(); i++) {
            out.add(row(rows.get(i)));
        }
        String next =
                more ? InteractionQuery.cursorAfter(rows.get(q.limit() - 1).getId()) : null;
        return new Page(out, next);
    }

    /** Up to {@code limit} rows after the id {@code afterId} (the export reads in such batches). */
    public List<InteractionsRecord> fetch(InteractionQuery q, Principal caller, long afterId, int limit) {
        return db.selectFrom(INTERACTIONS)
                .where(conditions(q, caller))
                .and(INTERACTIONS.ID.gt(afterId))
                .orderBy(INTERACTIONS.ID)
                .limit(limit)
                .fetch();
    }

    private static List<Condition> conditions(InteractionQuery q, Principal caller) {
        List<Condition> c = new ArrayList<>();
        if (!caller.role().atLeast(Role.OPERATOR)) {
            // any key of the caller's user, revoked ones included: the calls are still theirs
            c.add(INTERACTIONS.KEY_ID.in(
                    DSL.select(API_KEYS.ID).from(API_KEYS).where(API_KEYS.USER_ID.eq(caller.userId()))));
        }
        if (q.deployment() != null) {
            c.add(INTERACTIONS.DEPLOYMENT.eq(q.deployment()));
        }
        if (q.adapter() != null) {
            c.add(INTERACTIONS.ADAPTER.eq(q.adapter()));
        }
        if (q.keyId() != null) {
            c.add(INTERACTIONS.KEY_ID.eq(q.keyId()));
        }
        if (q.status() != null) {
            c.add(INTERACTIONS.STATUS.eq(q.status()));
        }
        if (q.since() != null) {
            c.add(INTERACTIONS.STARTED_AT.ge(q.since()));
        }
        if (q.until() != null) {
            c.add(INTERACTIONS.STARTED_AT.lt(q.until()));
        }
        return c;
    }

    /** One row as the API shows it: snake_case keys, times in ISO-8601. */
    public static Map<String, Object> row(InteractionsRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", r.getId());
        m.put("request_id", r.getRequestId());
        m.put("endpoint", r.getEndpoint());
        m.put("deployment", r.getDeployment());
        m.put("adapter", r.getAdapter());
        m.put("key_id", r.getKeyId());
        m.put("prompt_tokens", r.getPromptTokens());
        m.put("completion_tokens", r.getCompletionTokens());
        m.put("ttft_ms", r.getTtftMs());
        m.put("latency_ms", r.getLatencyMs());
        m.put("status", r.getStatus());
        m.put("finish_reason", r.getFinishReason());
        m.put("started_at", r.getStartedAt().toString());
        m.put("finished_at", r.getFinishedAt().toString());
        m.put("prompt_text", r.getPromptText());
        m.put("completion_text", r.getCompletionText());
        return m;
    }
}

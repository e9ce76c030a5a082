package io.twinserve.api.server.jobs;

import static io.twinserve.api.db.generated.Tables.API_KEYS;
import static io.twinserve.api.db.generated.Tables.JOBS;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.context.event.StartupEvent;
import io.twinserve.api.db.generated.tables.records.JobsRecord;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.auth.Principal;
import io.twinserve.api.server.auth.Role;
import io.twinserve.api.server.infra.Redis;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What-if simulations and plans as jobs. A job is recorded in PostgreSQL before it is accepted (its request
 * read and checked by {@link JobWork}, so a bad one is refused then, and its owner's quota checked), runs on
 * the {@link io.twinserve.experiments.whatif.WhatIfRunner} as {@code twinserve what-if} / {@code twinserve
 * plan} do, on spec files in its own folder, in a worker JVM of its own with the {@link JobBudget}'s heap,
 * processors and time ({@link JobWorkers}; at most {@code workers} at once, the others queued), stores the
 * result as the JSON those commands print with --json, and reports events (queued, started, progress,
 * succeeded, failed or cancelled) to Redis, where any server instance can stream them. A job that was
 * queued or running when its server stopped is run again at the next start (the runs are deterministic, so
 * a rerun gives the same result), up to {@link #MAX_ATTEMPTS} times, then marked failed; none vanishes.
 */
@Singleton
public final class JobService implements ApplicationEventListener<StartupEvent> {
    private static final Logger LOG = LoggerFactory.getLogger(JobService.class);
    public static final int MAX_ATTEMPTS = 3;
    public static final String QUEUED = "queued";
    public static final String RUNNING = "running";
    public static final String SUCCEEDED = "succeeded";
    public static final String FAILED = "failed";
    public static final String CANCELLED = "cancelled";
    private static final long EVENTS_TTL_SECONDS = 7 * 24 * 3600;
    /** The first key of the advisory lock that serialises one user's submissions ("jobs" in ASCII). */
    private static final int QUOTA_LOCK = 0x6a6f6273;

    private final DSLContext db;
    private final Redis redis;
    private final Path jobsDir;
    private final JobBudget budget;
    private final JobWorkers workers;
    private final ExecutorService runner;
    private volatile boolean closing;

    public JobService(
            DSLContext db,
            Redis redis,
            @Value("${twinserve.data-dir}") String dataDir,
            @Value("${twinserve.jobs.workers:2}") int workers,
            @Value("${twinserve.jobs.heap:2g}") String heap,
            @Value("${twinserve.jobs.cpus:1}") int cpus,
            @Value("${twinserve.jobs.max-seconds:3600}") long maxSeconds,
            @Value("${twinserve.jobs.per-user:4}") int perUser) {
        this.db = db;
        this.redis = redis;
        this.jobsDir = Path.of(dataDir).resolve("jobs");
        this.budget = new JobBudget(workers, heap, cpus, maxSeconds, perUser);
        this.workers = new JobWorkers(budget);
        AtomicInteger threads = new AtomicInteger();
        // one thread per worker: it starts the worker JVM and waits for it; the jobs beyond wait their turn
        this.runner = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "twinserve-jobs-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** What jobs are granted (for the documentation's figures and tests). */
    JobBudget budget() {
        return budget;
    }

    /** The process id of the worker JVM that runs job {@code id}, while one does. */
    public Optional<Long> workerPid(String id) {
        return workers.pid(id);
    }

    /** Resumes the jobs an earlier server left queued or running. */
    @Override
    public void onApplicationEvent(StartupEvent event) {
        for (JobsRecord j : db.selectFrom(JOBS)
                .where(JOBS.STATUS.in(QUEUED, RUNNING))
                .orderBy(JOBS.CREATED_AT)
                .fetch()) {
            try {
                if (j.getAttempts() >= MAX_ATTEMPTS) {
                    finish(
                            j.getId(),
                            FAILED,
                            null,
                            "gave up after " + j.getAttempts() + " attempts (the server stopped during" + " each)");
                    continue;
                }
                event(j.getId(), "resumed", Map.of("attempt", j.getAttempts() + 1));
                LOG.info("resuming job {} ({}), attempt {}", j.getId(), j.getKind(), j.getAttempts() + 1);
                db.update(JOBS)
                        .set(JOBS.STATUS, QUEUED)
                        .where(JOBS.ID.eq(j.getId()))
                        .execute();
                runner.submit(() -> run(j.getId()));
            } catch (RuntimeException e) {
                LOG.error("job {} could not be resumed: {}", j.getId(), e.toString());
            }
        }
    }

    /**
     * Records and queues a job; its request is checked first, so a bad one is refused here, and then the
     * owner's quota: a user (any of their keys) may have {@code twinserve.jobs.per-user} jobs queued or
     * running; operators and admins are not counted (they set the quota and may cancel anyone's job, and
     * their jobs wait for the same workers, so they cannot take more from serving than anyone else).
     *
     * @throws JobQuotaException when the owner has as many jobs queued or running as the quota allows
     */
    public Map<String, Object> submit(String kind, ObjectNode request, Principal owner) {
        JobWork.read(kind, request, null);
        String id = UUID.randomUUID().toString();
        db.transaction(tx -> {
            DSLContext t = DSL.using(tx);
            if (!owner.role().atLeast(Role.OPERATOR)) {
                // one submission of a user at a time counts and inserts, so two at once cannot both pass
                t.execute("select pg_advisory_xact_lock(?, ?)", QUOTA_LOCK, Long.hashCode(owner.userId()));
                int open = t.selectCount()
                        .from(JOBS)
                        .join(API_KEYS)
                        .on(API_KEYS.ID.eq(JOBS.OWNER_KEY_ID))
                        .where(API_KEYS.USER_ID.eq(owner.userId()))
                        .and(JOBS.STATUS.in(QUEUED, RUNNING))
                        .fetchOne(0, int.class);
                if (open >= budget.perUser()) {
                    throw new JobQuotaException(owner.user(), open, budget.perUser());
                }
            }
            t.insertInto(JOBS)
                    .set(JOBS.ID, id)
                    .set(JOBS.KIND, kind)
                    .set(JOBS.STATUS, QUEUED)
                    .set(JOBS.REQUEST, request.toString())
                    .set(JOBS.OWNER_KEY_ID, owner.keyId())
                    .execute();
        });
        event(id, QUEUED, Map.of("kind", kind));
        runner.submit(() -> run(id));
        return get(id);
    }

    /**
     * Cancels a queued or running job that {@code caller} may see: its row says cancelled, its worker (if one
     * runs it) is stopped, and it no longer counts against its owner's quota.
     */
    public Map<String, Object> cancel(String id, Principal caller) {
        get(id, caller);
        // a queued job never starts; a running one (or one whose worker is starting) has its worker stopped
        if (cancelFrom(id, QUEUED, caller) == 0) {
            if (cancelFrom(id, RUNNING, caller) == 0) {
                throw ApiException.conflict("id", "job '" + id + "' has already ended (" + get(id).get("status") + ")");
            }
            workers.stop(id);
        }
        event(id, CANCELLED, Map.of("by", caller.user()));
        return get(id);
    }

    /**
     * A job as {@code caller} may see it: its owner's (any key of the user who submitted it) and an
     * operator's or admin's. Anyone else is told there is no such job, as for an id that does not exist,
     * so that job ids do not leak.
     */
    public Map<String, Object> get(String id, Principal caller) {
        JobsRecord j = db.selectFrom(JOBS).where(JOBS.ID.eq(id)).fetchOne();
        if (j == null || !visible(j, caller)) {
            throw ApiException.notFound("id", "no job with id '" + id + "'");
        }
        return get(id);
    }

    private boolean visible(JobsRecord j, Principal caller) {
        Long owner = j.getOwnerKeyId();
        if (caller.role().atLeast(Role.OPERATOR) || (owner != null && owner == caller.keyId())) {
            return true;
        }
        Long ownerUser = owner == null
                ? null
                : db.select(API_KEYS.USER_ID)
                        .from(API_KEYS)
                        .where(API_KEYS.ID.eq(owner))
                        .fetchOne(API_KEYS.USER_ID);
        return ownerUser != null && ownerUser == caller.userId();
    }

    public Map<String, Object> get(String id) {
        JobsRecord j = db.selectFrom(JOBS).where(JOBS.ID.eq(id)).fetchOne();
        if (j == null) {
            throw ApiException.notFound("id", "no job with id '" + id + "'");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", j.getId());
        m.put("kind", j.getKind());
        m.put("status", j.getStatus());
        m.put("progress", j.getProgress());
        m.put("attempts", j.getAttempts());
        m.put("request", read(j.getRequest()));
        m.put("result", j.getResult() == null ? null : read(j.getResult()));
        m.put("error", j.getError());
        m.put("created_at", j.getCreatedAt().toString());
        m.put("started_at", j.getStartedAt() == null ? null : j.getStartedAt().toString());
        m.put(
                "finished_at",
                j.getFinishedAt() == null ? null : j.getFinishedAt().toString());
        m.put("events", "/api/jobs/" + j.getId() + "/events");
        return m;
    }

    /**
     * The jobs {@code caller} may see, newest first, without their requests and results (a list, not the jobs):
     * its user's (any of the user's keys), or with {@code all} every job for an operator or admin.
     *
     * @param kind simulation or plan, null for both
     */
    public List<Map<String, Object>> list(Principal caller, String kind, boolean all, int limit) {
        if (all && !caller.role().atLeast(Role.OPERATOR)) {
            throw ApiException.forbidden("'all' lists every user's jobs and needs the operator role; the key's user '"
                    + caller.user() + "' has " + caller.role().wire());
        }
        org.jooq.Condition where = all
                ? org.jooq.impl.DSL.trueCondition()
                : JOBS.OWNER_KEY_ID.in(
                        db.select(API_KEYS.ID).from(API_KEYS).where(API_KEYS.USER_ID.eq(caller.userId())));
        if (kind != null) {
            where = where.and(JOBS.KIND.eq(kind));
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (var j : db.select(
                        JOBS.ID, JOBS.KIND, JOBS.STATUS, JOBS.PROGRESS, JOBS.ERROR, JOBS.CREATED_AT, JOBS.FINISHED_AT)
                .from(JOBS)
                .where(where)
                .orderBy(JOBS.CREATED_AT.desc(), JOBS.ID.desc())
                .limit(limit)
                .fetch()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", j.get(JOBS.ID));
            m.put("kind", j.get(JOBS.KIND));
            m.put("status", j.get(JOBS.STATUS));
            m.put("progress", j.get(JOBS.PROGRESS));
            m.put("error", j.get(JOBS.ERROR));
            m.put("created_at", j.get(JOBS.CREATED_AT).toString());
            m.put(
                    "finished_at",
                    j.get(JOBS.FINISHED_AT) == null
                            ? null
                            : j.get(JOBS.FINISHED_AT).toString());
            out.add(m);
        }
        return out;
    }

    public String kindOf(String id) {
        return (String) get(id).get("kind");
    }

    /** Events so far, from index {@code from} on (Redis list {@code twinserve:job:ID:events}). */
    public List<String> events(String id, long from) throws Exception {
        return redis.async().lrange(eventsKey(id), from, -1).get(10, TimeUnit.SECONDS);
    }

    private int cancelFrom(String id, String status, Principal caller) {
        return db.update(JOBS)
                .set(JOBS.STATUS, CANCELLED)
                .set(JOBS.ERROR, "cancelled by " + caller.user())
                .set(JOBS.FINISHED_AT, OffsetDateTime.now())
                .where(JOBS.ID.eq(id))
                .and(JOBS.STATUS.eq(status))
                .execute();
    }

    public static boolean terminal(String eventJson) {
        return eventJson.contains("\"type\":\"" + SUCCEEDED + "\"")
                || eventJson.contains("\"type\":\"" + FAILED + "\"")
                || eventJson.contains("\"type\":\"" + CANCELLED + "\"");
    }

    private void run(String id) {
        if (closing) {
            return;
        }
        JobsRecord j = db.selectFrom(JOBS).where(JOBS.ID.eq(id)).fetchOne();
        if (j == null || !QUEUED.equals(j.getStatus())) {
            return;
        }
        int attempt = j.getAttempts() + 1;
        int started = db.update(JOBS)
                .set(JOBS.STATUS, RUNNING)
                .set(JOBS.STARTED_AT, OffsetDateTime.now())
                .set(JOBS.ATTEMPTS, attempt)
                .where(JOBS.ID.eq(id))
                .and(JOBS.STATUS.eq(QUEUED))
                .execute();
        if (started == 0) {
            // cancelled while it waited
            return;
        }
        event(id, "started", Map.of("attempt", attempt));
        JobWorkers.Outcome outcome;
        try {
            outcome = workers.run(
                    id, attempt, j.getKind(), read(j.getRequest()), jobsDir.resolve(id), new JobProgress(id)::update);
        } catch (IOException | RuntimeException e) {
            LOG.warn("job {}: its worker could not be started", id, e);
            outcome = new JobWorkers.Outcome.Failed(
                    "the server could not start a worker for the job; the server's log has the details under job "
                            + id);
        }
        if (closing) {
            // the row still says running: the job is run again at the next start
            return;
        }
        switch (outcome) {
            case JobWorkers.Outcome.Succeeded s ->
                finish(id, SUCCEEDED, s.result().toString(), null);
            case JobWorkers.Outcome.Failed f -> finish(id, FAILED, null, f.error());
            case JobWorkers.Outcome.Stopped ignored -> {
                // cancelled: the cancel recorded it
            }
        }
    }

    private void finish(String id, String status, String result, String error) {
        var update = db.update(JOBS)
                .set(JOBS.STATUS, status)
                .set(JOBS.RESULT, result)
                .set(JOBS.ERROR, error)
                .set(JOBS.FINISHED_AT, OffsetDateTime.now());
        if (SUCCEEDED.equals(status)) {
            update = update.set(JOBS.PROGRESS, 1.0);
        }
        // a job cancelled meanwhile stays cancelled
        if (update.where(JOBS.ID.eq(id)).and(JOBS.STATUS.in(QUEUED, RUNNING)).execute() == 0) {
            return;
        }
        Map<String, Object> details = new LinkedHashMap<>();
        if (error != null) {
            details.put("error", error);
        }
        event(id, status, details);
    }

    private void event(String id, String type, Map<String, Object> details) {
        ObjectNode e = Bodies.JSON.createObjectNode();
        e.put("type", type);
        e.put("job", id);
        e.put("at", OffsetDateTime.now().toString());
        details.forEach((k, v) -> e.set(k, Bodies.JSON.valueToTree(v)));
        var async = redis.async();
        async.rpush(eventsKey(id), e.toString());
        async.expire(eventsKey(id), EVENTS_TTL_SECONDS);
    }

    private static String eventsKey(String id) {
        return "twinserve:job:" + id + ":events";
    }

    /** Records a job's progress in its row and as progress events, at most five times a second (and at the end). */
    private final class JobProgress {
        private final String id;
        private long lastNs;

        JobProgress(String id) {
            this.id = id;
        }

        public synchronized void update(double fraction, String stage) {
            long now = System.nanoTime();
            if (now - lastNs > 200_000_000L || fraction >= 1) {
                lastNs = now;
                db.update(JOBS)
                        .set(JOBS.PROGRESS, fraction)
                        .where(JOBS.ID.eq(id))
                        .execute();
                event(id, "progress", Map.of("progress", fraction, "message", stage));
            }
        }
    }

    private static JsonNode read(String json) {
        try {
            return Bodies.JSON.readTree(json);
        } catch (IOException e) {
            return Bodies.JSON.getNodeFactory().textNode(json);
        }
    }

    @PreDestroy
    public void close() {
        // a running job is abandoned here and resumed at the next start (its row still says running)
        closing = true;
        runner.shutdownNow();
        workers.close();
    }
}

package io.twinserve.api.server.jobs;

import static io.twinserve.api.db.generated.Tables.JOBS;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.context.event.StartupEvent;
import io.twinserve.api.cli.TwinserveCommand;
import io.twinserve.api.db.generated.tables.records.JobsRecord;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.infra.Redis;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What-if simulations and plans as jobs. A job is recorded in PostgreSQL before it is accepted, runs the
 * same code as {@code twinserve what-if} / {@code twinserve plan} on spec files in its own folder, and
 * reports events (queued, started, progress, succeeded or failed) to Redis, where any server instance
 * can stream them. A job that was queued or running when its server stopped is run again at the next
 * start (the runs are deterministic, so a rerun gives the same result), up to {@link #MAX_ATTEMPTS}
 * times, then marked failed; none vanishes.
 */
@Singleton
public final class JobService implements ApplicationEventListener<StartupEvent> {
  private static final Logger LOG = LoggerFactory.getLogger(JobService.class);
  public static final int MAX_ATTEMPTS = 3;
  public static final String QUEUED = "queued";
  public static final String RUNNING = "running";
  public static final String SUCCEEDED = "succeeded";
  public static final String FAILED = "failed";
  private static final long EVENTS_TTL_SECONDS = 7 * 24 * 3600;

  private final DSLContext db;
  private final Redis redis;
  private final Path jobsDir;
  private volatile boolean closing;
  private final ExecutorService runner = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "twinserve-jobs");
    t.setDaemon(true);
    return t;
  });

  public JobService(DSLContext db, Redis redis, @Value("${twinserve.data-dir}") String dataDir) {
    this.db = db;
    this.redis = redis;
    this.jobsDir = Path.of(dataDir).resolve("jobs");
  }

  /** Resumes the jobs an earlier server left queued or running. */
  @Override
  public void onApplicationEvent(StartupEvent event) {
    for (JobsRecord j : db.selectFrom(JOBS).where(JOBS.STATUS.in(QUEUED, RUNNING)).orderBy(JOBS.CREATED_AT).fetch()) {
      try {
        if (j.getAttempts() >= MAX_ATTEMPTS) {
          finish(j.getId(), FAILED, null, "gave up after " + j.getAttempts() + " attempts (the server stopped during"
              + " each)");
          continue;
        }
        event(j.getId(), "resumed", Map.of("attempt", j.getAttempts() + 1));
        LOG.info("resuming job {} ({}), attempt {}", j.getId(), j.getKind(), j.getAttempts() + 1);
        db.update(JOBS).set(JOBS.STATUS, QUEUED).where(JOBS.ID.eq(j.getId())).execute();
        runner.submit(() -> run(j.getId()));
      } catch (RuntimeException e) {
        LOG.error("job {} could not be resumed: {}", j.getId(), e.toString());
      }
    }
  }

  /** Records and queues a job; its request is checked first, so a bad one is refused here. */
  public Map<String, Object> submit(String kind, ObjectNode request, long ownerKeyId) {
    List<String> args = args(kind, request, null);
    if (args.isEmpty()) {
      throw new IllegalStateException("no arguments");
    }
    String id = UUID.randomUUID().toString();
    db.insertInto(JOBS).set(JOBS.ID, id).set(JOBS.KIND, kind).set(JOBS.STATUS, QUEUED)
        .set(JOBS.REQUEST, request.toString()).set(JOBS.OWNER_KEY_ID, ownerKeyId).execute();
    event(id, QUEUED, Map.of("kind", kind));
    runner.submit(() -> run(id));
    return get(id);
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
    m.put("finished_at", j.getFinishedAt() == null ? null : j.getFinishedAt().toString());
    m.put("events", "/api/jobs/" + j.getId() + "/events");
    return m;
  }

  public String kindOf(String id) {
    return (String) get(id).get("kind");
  }

  /** Events so far, from index {@code from} on (Redis list {@code twinserve:job:ID:events}). */
  public List<String> events(String id, long from) throws Exception {
    return redis.async().lrange(eventsKey(id), from, -1).get(10, TimeUnit.SECONDS);
  }

  public static boolean terminal(String eventJson) {
    return eventJson.contains("\"type\":\"" + SUCCEEDED + "\"") || eventJson.contains("\"type\":\"" + FAILED + "\"");
  }

  private void run(String id) {
    JobsRecord j = db.selectFrom(JOBS).where(JOBS.ID.eq(id)).fetchOne();
    if (j == null || !QUEUED.equals(j.getStatus())) {
      return;
    }
    db.update(JOBS).set(JOBS.STATUS, RUNNING).set(JOBS.STARTED_AT, OffsetDateTime.now())
        .set(JOBS.ATTEMPTS, j.getAttempts() + 1).where(JOBS.ID.eq(id)).execute();
    event(id, "started", Map.of("attempt", j.getAttempts() + 1));
    try {
      Path dir = jobsDir.resolve(id);
      Files.createDirectories(dir);
      List<String> args = args(j.getKind(), (ObjectNode) read(j.getRequest()), dir);
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int code = TwinserveCommand.execute(args.toArray(String[]::new), new PrintWriter(out, true),
          new PrintWriter(new ProgressWriter(id, err), true));
      if (closing) {
        return;
      }
      if (code != 0) {
        finish(id, FAILED, null, err.toString().strip().isEmpty() ? "exit code " + code : err.toString().strip());
        return;
      }
      JsonNode result = Bodies.JSON.readTree(out.toString());
      finish(id, SUCCEEDED, result.toString(), null);
    } catch (Exception | Error e) {
      if (closing) {
        return;
      }
      LOG.warn("job {} failed", id, e);
      finish(id, FAILED, null, e.toString());
    }
  }

  private void finish(String id, String status, String result, String error) {
    var update = db.update(JOBS).set(JOBS.STATUS, status).set(JOBS.RESULT, result).set(JOBS.ERROR, error)
        .set(JOBS.FINISHED_AT, OffsetDateTime.now());
    if (SUCCEEDED.equals(status)) {
      update = update.set(JOBS.PROGRESS, 1.0);
    }
    update.where(JOBS.ID.eq(id)).execute();
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

  /** Turns the command's progress lines ("12/40 configurations ...") into progress events. */
  private final class ProgressWriter extends Writer {
    private final String id;
    private final StringWriter err;
    private final StringBuilder line = new StringBuilder();
    private long lastNs;

    ProgressWriter(String id, StringWriter err) {
      this.id = id;
      this.err = err;
    }

    @Override
    public void write(char[] cbuf, int off, int len) {
      for (int i = off; i < off + len; i++) {
        char c = cbuf[i];
        if (c == '\n' || c == '\r') {
          line(line.toString());
          line.setLength(0);
        } else {
          line.append(c);
        }
      }
    }

    private void line(String l) {
      var m = java.util.regex.Pattern.compile("(\\d+)\\s*/\\s*(\\d+)").matcher(l);
      if (m.find()) {
        double p = Double.parseDouble(m.group(1)) / Math.max(1, Double.parseDouble(m.group(2)));
        long now = System.nanoTime();
        if (now - lastNs > 200_000_000L || p >= 1) {
          lastNs = now;
          db.update(JOBS).set(JOBS.PROGRESS, p).where(JOBS.ID.eq(id)).execute();
          event(id, "progress", Map.of("progress", p, "message", l.strip()));
        }
      } else if (!l.isBlank()) {
        err.write(l);
        err.write('\n');
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }

  /**
   * The command line a job runs. Simulations: {@code workload} (a workload spec) with {@code deployment}
   * (one replica) or {@code cluster} (a cluster spec), optional {@code sweep}, {@code seed}, {@code
   * window_s}. Plans: {@code workload} and optional {@code base_model}, {@code pools}, {@code objective},
   * {@code verify}. Spec objects are written as files in the job's folder.
   */
  static List<String> args(String kind, ObjectNode r, Path dir) {
    List<String> args = new ArrayList<>();
    JsonNode workload = r.get("workload");
    if (workload != null && !workload.isNull() && !workload.isObject()) {
      throw ApiException.badRequest("workload", "'workload' must be a workload spec object (docs/workload-spec.md)");
    }
    try {
      if (kind.equals("simulation")) {
        args.add("what-if");
        args.add("--json");
        JsonNode deployment = r.get("deployment");
        JsonNode cluster = r.get("cluster");
        if ((deployment == null || deployment.isNull()) == (cluster == null || cluster.isNull())) {
          throw ApiException.badRequest("deployment", "a simulation needs exactly one of 'deployment' (a deployment"
              + " spec, docs/deployment-spec.md) and 'cluster' (a cluster spec, docs/cluster-spec.md)");
        }
        if (deployment != null && !deployment.isNull()) {
          requireObject(deployment, "deployment");
          args.add("--deployment");
          args.add(write(dir, "deployment.yaml", deployment));
        } else {
          requireObject(cluster, "cluster");
          args.add("--cluster");
          args.add(write(dir, "cluster.yaml", cluster));
        }
        if (workload != null && !workload.isNull()) {
          args.add("--workload");
          args.add(write(dir, "workload.yaml", workload));
        }
        JsonNode sweep = r.get("sweep");
        if (sweep != null && !sweep.isNull()) {
          if (!sweep.isArray()) {
            throw ApiException.badRequest("sweep", "'sweep' must be a list of \"key=v1,v2\" strings");
          }
          for (JsonNode s : sweep) {
            if (!s.isTextual() || !s.asText().contains("=")) {
              throw ApiException.badRequest("sweep", "'sweep' entries must look like \"replica.max_adapters=2,4\", got " + s);
            }
            args.add("--sweep");
            args.add(s.asText());
          }
        }
        Integer seed = Bodies.optionalInt(r, "seed", Integer.MIN_VALUE, Integer.MAX_VALUE);
        if (seed != null) {
          args.add("--seed");
          args.add(seed.toString());
        }
        Double window = Bodies.optionalDouble(r, "window_s", 1e-3, 1e7);
        if (window != null) {
          args.add("--window");
          args.add(window.toString());
        }
        args.add("--threads");
        args.add("1");
      } else if (kind.equals("plan")) {
        args.add("plan");
        args.add("--json");
        if (workload != null && !workload.isNull()) {
          args.add("--workload");
          args.add(write(dir, "workload.yaml", workload));
        }
        String base = Bodies.optionalString(r, "base_model");
        if (base != null) {
          args.add("--base-model");
          args.add(base);
        }
        String objective = Bodies.optionalString(r, "objective");
        if (objective != null) {
          args.add("--objective");
          args.add(objective);
        }
        JsonNode pools = r.get("pools");
        if (pools != null && !pools.isNull()) {
          if (!pools.isArray()) {
            throw ApiException.badRequest("pools", "'pools' must be a list of pool names");
          }
          List<String> names = new ArrayList<>();
          pools.forEach(p -> names.add(p.asText()));
          args.add("--pools");
          args.add(String.join(",", names));
        }
        Boolean verify = Bodies.optionalBoolean(r, "verify");
        if (verify != null && verify) {
          args.add("--verify");
        }
      } else {
        throw new IllegalArgumentException("unknown job kind " + kind);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot write the job's spec files in " + dir + ": " + e.getMessage(), e);
    }
    return args;
  }

  private static void requireObject(JsonNode n, String field) {
    if (!n.isObject()) {
      throw ApiException.badRequest(field, "'" + field + "' must be an object, got " + n.getNodeType());
    }
  }

  /**
   * JSON is YAML: the spec object goes to the file as it came, after the spec parser has read it (so a bad
   * spec is refused when the job is submitted, naming the field). With no folder (validation only) nothing
   * is written.
   */
  private static String write(Path dir, String name, JsonNode spec) throws IOException {
    String field = name.substring(0, name.indexOf('.'));
    try {
      switch (field) {
        case "deployment" -> io.twinserve.traces.spec.WorkloadSpecs.parse(spec.toString(), null,
            io.twinserve.twin.deploy.DeploymentSpec.class);
        case "cluster" -> io.twinserve.twin.cluster.Clusters.parse(spec.toString(), null);
        default -> io.twinserve.traces.spec.WorkloadSpecs.parse(spec.toString(), null);
      }
    } catch (io.twinserve.traces.spec.SpecException e) {
      String key = e.keyPath() == null || e.keyPath().isEmpty() ? field : field + "." + e.keyPath();
      throw ApiException.badRequest(key, "'" + key + "': " + e.problem());
    }
    if (dir == null) {
      return name;
    }
    Path file = dir.resolve(name);
    Files.writeString(file, Bodies.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(spec));
    return file.toString();
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
  }

}

package io.twinserve.api.server.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.cookie.Cookie;
import io.micronaut.http.cookie.SameSite;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.swagger.v3.oas.annotations.Hidden;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.auth.AccessService;
import io.twinserve.api.server.auth.AuthFilter;
import io.twinserve.api.server.auth.ConsoleSessions;
import io.twinserve.api.server.auth.Principal;
import io.twinserve.experiments.whatif.SpecText;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.capacity.CapacitySpec;
import io.twinserve.twin.cluster.Clusters;
import io.twinserve.twin.deploy.Deployments;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * The web console: one page ({@code /}) with its scripts and styles in the jar ({@code /console/assets/},
 * Chart.js from its webjar at {@code /console/vendor/}), signing in with an API key into an HttpOnly, SameSite=Strict
 * session cookie ({@link ConsoleSessions}), and the check of the YAML its editors hold. Everything else the page
 * shows it gets from the API itself, with the session standing for the key, so it shows and allows exactly what
 * the key's role and grants allow.
 */
@Controller
@Hidden
@ExecuteOn(TaskExecutors.BLOCKING)
public final class ConsoleController {
    private static final String ASSETS = "io/twinserve/api/console/";
    /** File names of one folder only: nothing else on the class path can be asked for. */
    private static final Pattern FILE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final AccessService access;
    private final ConsoleSessions sessions;
    private final byte[] page;
    private final String vendor;

    public ConsoleController(AccessService access, ConsoleSessions sessions) {
        this.access = access;
        this.sessions = sessions;
        this.page = read(ASSETS + "index.html");
        this.vendor = "META-INF/resources/webjars/chart.js/" + webjarVersion() + "/dist/";
    }

    @Get
    public HttpResponse<byte[]> page() {
        return HttpResponse.ok(page)
                .contentType(MediaType.TEXT_HTML_TYPE.getName() + ";charset=utf-8")
                .header("Cache-Control", "no-cache")
                // scripts and styles from this server only; no inline script runs
                .header(
                        "Content-Security-Policy",
                        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
                                + " connect-src 'self'; frame-ancestors 'none'; form-action 'self'")
                .header("X-Content-Type-Options", "nosniff");
    }

    @Get("/console/assets/{file}")
    public HttpResponse<byte[]> asset(@PathVariable String file) {
        return file(ASSETS + "assets/", file);
    }

    @Get("/console/vendor/{file}")
    public HttpResponse<byte[]> vendor(@PathVariable String file) {
        return file(vendor, file);
    }

    private HttpResponse<byte[]> file(String folder, String file) {
        if (!FILE.matcher(file).matches() || file.contains("..")) {
            throw ApiException.notFound("file", "no file '" + file + "'");
        }
        try (InputStream in = getClass().getClassLoader().getResourceAsStream(folder + file)) {
            if (in == null) {
                throw ApiException.notFound("file", "no file '" + file + "'");
            }
            return HttpResponse.ok(in.readAllBytes())
                    .contentType(MediaType.forFilename(file))
                    .header("Cache-Control", "no-cache")
                    .header("X-Content-Type-Options", "nosniff");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Signs in: {@code {"key": "tsk_..."}}; the session cookie and the CSRF token come back. */
    @Post("/console/session")
    public HttpResponse<Map<String, Object>> signIn(HttpRequest<?> request, @Body byte[] body) {
        ObjectNode o = Bodies.object(body);
        Bodies.onlyKeys(o, "sign-in", java.util.List.of("key"));
        String key = Bodies.requiredString(o, "key").strip();
        Principal p = access.authenticate(key);
        if (p == null) {
            throw ApiException.unauthorized("the API key is not valid (unknown or revoked)");
        }
        ConsoleSessions.Session s = sessions.open(key);
        return HttpResponse.ok(describe(p, s.csrf())).cookie(cookie(request, s.id(), ConsoleSessions.TTL_SECONDS));
    }

    /** Who the session is: user, role, grants and its CSRF token; 401 when there is no session. */
    @Get("/console/session")
    public Map<String, Object> whoAmI(HttpRequest<?> request) {
        ConsoleSessions.Session s = session(request);
        Principal p = access.authenticateHash(s.keyHash());
        if (p == null) {
            sessions.close(s.id());
            throw ApiException.unauthorized("the API key this console session was opened with is no longer valid");
        }
        return describe(p, s.csrf());
    }

    /** Signs out: the session ends and the cookie is cleared. */
    @Delete("/console/session")
    public HttpResponse<Map<String, Object>> signOut(HttpRequest<?> request) {
        ConsoleSessions.Session s = session(request);
        if (!s.csrf().equals(request.getHeaders().get(ConsoleSessions.CSRF_HEADER))) {
            throw ApiException.forbidden("signing out must carry the session's CSRF token in the "
                    + ConsoleSessions.CSRF_HEADER + " header");
        }
        sessions.close(s.id());
        return HttpResponse.ok(Map.<String, Object>of("signed_out", true)).cookie(cookie(request, "", 0));
    }

    /** The built-in what-if workload and deployment, as the command line's {@code what-if} runs them. */
    @Get("/console/defaults")
    public Map<String, Object> defaults(HttpRequest<?> request) {
        AuthFilter.principal(request);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("workload", SpecText.builtInWorkload().yaml());
        m.put("deployment", SpecText.builtInDeployment().yaml());
        m.put("capacity", new String(read("io/twinserve/api/builtin/capacity.yaml"), StandardCharsets.UTF_8));
        m.put(
                "capacity_workload",
                new String(read("io/twinserve/api/builtin/capacity-workload.yaml"), StandardCharsets.UTF_8));
        return m;
    }

    /**
     * Checks an editor's YAML with the server's own parser: {@code {"kind": "workload" | "deployment" | "cluster",
     * "yaml": "..."}}. Valid: 200 with the spec as JSON (what the jobs API takes). Invalid: 400 whose error names
     * the line and the key path, with the parser's message (a did-you-mean for a misspelt key).
     */
    @Post("/console/yaml")
    public HttpResponse<?> check(HttpRequest<?> request, @Body byte[] body) {
        AuthFilter.principal(request);
        ObjectNode o = Bodies.object(body);
        Bodies.onlyKeys(o, "YAML check", java.util.List.of("kind", "yaml"));
        String kind = Bodies.requiredString(o, "kind");
        String yaml = Bodies.requiredString(o, "yaml");
        Path file = Path.of(kind + ".yaml");
        try {
            switch (kind) {
                case "workload" -> WorkloadSpecs.parse(yaml, file);
                case "deployment" -> Deployments.parse(yaml, file);
                case "cluster" -> Clusters.parse(yaml, file);
                case "capacity" -> WorkloadSpecs.parse(yaml, file, CapacitySpec.class);
                default ->
                    throw ApiException.badRequest(
                            "kind", "'kind' must be workload, deployment, cluster or capacity, got '" + kind + "'");
            }
            JsonNode json = YAML.readTree(yaml);
            if (json == null || !json.isObject()) {
                throw ApiException.badRequest("yaml", "the " + kind + " spec must be a YAML mapping");
            }
            return HttpResponse.ok(Map.of("json", json));
        } catch (SpecException e) {
            Map<String, Object> error = new LinkedHashMap<>();
            error.put("message", e.problem());
            error.put("type", "invalid_request_error");
            error.put("param", e.keyPath() == null || e.keyPath().isEmpty() ? kind : kind + "." + e.keyPath());
            error.put("code", "invalid_spec");
            error.put("line", e.line() > 0 ? e.line() : null);
            error.put("key_path", e.keyPath());
            return HttpResponse.status(HttpStatus.BAD_REQUEST).body(Map.of("error", error));
        } catch (IOException e) {
            throw ApiException.badRequest("yaml", "not YAML: " + e.getMessage());
        }
    }

    private ConsoleSessions.Session session(HttpRequest<?> request) {
        String id = request.getCookies()
                .findCookie(ConsoleSessions.COOKIE)
                .map(c -> c.getValue())
                .orElse(null);
        ConsoleSessions.Session s = id == null ? null : sessions.find(id);
        if (s == null) {
            throw ApiException.unauthorized("not signed in to the console");
        }
        return s;
    }

    private static Map<String, Object> describe(Principal p, String csrf) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("user", p.user());
        m.put("role", p.role().wire());
        Map<String, Object> grants = new LinkedHashMap<>();
        p.grants()
                .forEach((d, a) -> grants.put(
                        d,
                        a.isEmpty()
                                ? java.util.List.of("*")
                                : a.stream().sorted().toList()));
        m.put("grants", grants);
        m.put("csrf", csrf);
        return m;
    }

    private static Cookie cookie(HttpRequest<?> request, String value, long maxAgeSeconds) {
        return Cookie.of(ConsoleSessions.COOKIE, value)
                .httpOnly(true)
                .sameSite(SameSite.Strict)
                .path("/")
                .secure(request.isSecure())
                .maxAge(Duration.ofSeconds(maxAgeSeconds));
    }

    private static String webjarVersion() {
        Properties p = new Properties();
        try (InputStream in = ConsoleController.class
                .getClassLoader()
                .getResourceAsStream("META-INF/maven/org.webjars.npm/chart.js/pom.properties")) {
            if (in == null) {
                throw new IllegalStateException("the chart.js webjar is not on the class path");
            }
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p.getProperty("version");
    }

    private static byte[] read(String name) {
        try (InputStream in = ConsoleController.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

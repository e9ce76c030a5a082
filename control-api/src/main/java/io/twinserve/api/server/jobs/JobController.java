package io.twinserve.api.server.jobs;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.sse.Event;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.ArraySchema;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.twinserve.api.server.ApiErrors;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.auth.AuthFilter;
import io.twinserve.api.server.auth.Principal;
import io.twinserve.api.server.schema.CapacityRequest;
import io.twinserve.api.server.schema.ErrorResponse;
import io.twinserve.api.server.schema.Job;
import io.twinserve.api.server.schema.JobSummary;
import io.twinserve.api.server.schema.PlanRequest;
import io.twinserve.api.server.schema.SimulationRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import reactor.core.publisher.Flux;

/** What-if simulations and plans as jobs and their events ({@link AutoconfigureController} applies a plan). */
@Controller("/api")
@ExecuteOn(TaskExecutors.BLOCKING)
@Tag(name = "jobs")
@SecurityRequirement(name = "bearer")
@ApiErrors.Unauthorized
@ApiErrors.ServerError
@ApiErrors.Unavailable
public final class JobController {
    private final JobService jobs;

    public JobController(JobService jobs) {
        this.jobs = jobs;
    }

    @Operation(
            operationId = "createSimulation",
            summary = "Submit a what-if simulation job (any key); bounded, see docs/serve.md")
    @RequestBody(required = true, content = @Content(schema = @Schema(implementation = SimulationRequest.class)))
    @ApiResponse(
            responseCode = "202",
            description = "accepted: queued",
            content = @Content(schema = @Schema(implementation = Job.class)))
    @ApiResponse(
            responseCode = "429",
            description =
                    "the user's job quota (twinserve.jobs.per-user) is used up; Retry-After says when to try again",
            content = @Content(schema = @Schema(implementation = ErrorResponse.class)))
    @ApiErrors.BadRequest
    @ApiErrors.TooLarge
    @Post("/simulations")
    public HttpResponse<Map<String, Object>> simulate(HttpRequest<?> request, @Body byte[] body) {
        return submit("simulation", request, body);
    }

    @Operation(operationId = "getSimulation", summary = "A simulation job (its owner, operators and admins)")
    @ApiResponse(
            responseCode = "200",
            description = "the job",
            content = @Content(schema = @Schema(implementation = Job.class)))
    @ApiErrors.NotFound
    @Get("/simulations/{id}")
    public Map<String, Object> simulation(HttpRequest<?> request, @PathVariable String id) {
        return job(request, id, "simulation");
    }

    @Operation(operationId = "createPlan", summary = "Submit a plan job (any key)")
    @RequestBody(required = true, content = @Content(schema = @Schema(implementation = PlanRequest.class)))
    @ApiResponse(
            responseCode = "202",
            description = "accepted: queued",
            content = @Content(schema = @Schema(implementation = Job.class)))
    @ApiResponse(
            responseCode = "429",
            description =
                    "the user's job quota (twinserve.jobs.per-user) is used up; Retry-After says when to try again",
            content = @Content(schema = @Schema(implementation = ErrorResponse.class)))
    @ApiErrors.BadRequest
    @ApiErrors.TooLarge
    @Post("/plans")
    public HttpResponse<Map<String, Object>> plan(HttpRequest<?> request, @Body byte[] body) {
        return submit("plan", request, body);
    }

    /** 202 with the job, or 429 with {@code Retry-After} when its user's job quota is used up. */
    private HttpResponse<Map<String, Object>> submit(String kind, HttpRequest<?> request, byte[] body) {
        Principal p = AuthFilter.principal(request);
        try {
            return HttpResponse.accepted().body(jobs.submit(kind, Bodies.object(body), p));
        } catch (JobQuotaException e) {
            return HttpResponse.<Map<String, Object>>status(HttpStatus.TOO_MANY_REQUESTS)
                    .header(HttpHeaders.RETRY_AFTER, Integer.toString(JobBudget.RETRY_AFTER_SECONDS))
                    .body(ApiException.errorBody(e.getMessage(), "rate_limit_error", null, "job_quota_exceeded"));
        }
    }

    /**
     * Cancels a queued or running job (its owner, or an operator): it ends as {@code cancelled} and its worker
     * is stopped; 409 when it has already ended.
     */
    @Operation(operationId = "cancelJob", summary = "Cancel a queued or running job (its owner, operators and admins)")
    @ApiResponse(
            responseCode = "200",
            description = "the job, now cancelled",
            content = @Content(schema = @Schema(implementation = Job.class)))
    @ApiErrors.NotFound
    @ApiErrors.Conflict
    @Post("/jobs/{id}/cancel")
    public Map<String, Object> cancel(HttpRequest<?> request, @PathVariable String id) {
        return jobs.cancel(id, AuthFilter.principal(request));
    }

    @Operation(operationId = "getPlan", summary = "A plan job (its owner, operators and admins)")
    @ApiResponse(
            responseCode = "200",
            description = "the job",
            content = @Content(schema = @Schema(implementation = Job.class)))
    @ApiErrors.NotFound
    @Get("/plans/{id}")
    public Map<String, Object> planJob(HttpRequest<?> request, @PathVariable String id) {
        return job(request, id, "plan");
    }

    @Operation(
            operationId = "createCapacitySearch",
            summary = "Submit a capacity search job (any key): every candidate deployment of a capacity spec"
                    + " (docs/capacity-search.md) searched for the highest rate it sustains within the SLO; no"
                    + " 'capacity' runs the built-in search")
    @RequestBody(required = true, content = @Content(schema = @Schema(implementation = CapacityRequest.class)))
    @ApiResponse(
            responseCode = "202",
            description = "accepted: queued",
            content = @Content(schema = @Schema(implementation = Job.class)))
    @ApiResponse(
            responseCode = "429",
            description = "the user's job quota is used up; Retry-After says when to try again",
            content = @Content(schema = @Schema(implementation = ErrorResponse.class)))
    @ApiErrors.BadRequest
    @ApiErrors.TooLarge
    @Post("/capacity-searches")
    public HttpResponse<Map<String, Object>> createCapacitySearch(HttpRequest<?> request, @Body byte[] body) {
        Bodies.onlyKeys(Bodies.object(body), "capacity search", List.of("capacity", "workload"));
        return submit("capacity", request, body);
    }

    @Operation(operationId = "getCapacitySearch", summary = "A capacity search job (its owner, operators and admins)")
    @ApiResponse(
            responseCode = "200",
            description = "the job; its result lists every candidate with its sustainable rate and Pareto mark",
            content = @Content(schema = @Schema(implementation = Job.class)))
    @ApiErrors.NotFound
    @Get("/capacity-searches/{id}")
    public Map<String, Object> capacitySearch(HttpRequest<?> request, @PathVariable String id) {
        return job(request, id, "capacity");
    }

    @Operation(
            operationId = "listJobs",
            summary = "The jobs of the key's user, newest first, without requests and results (all: every user's,"
                    + " operators)")
    @ApiResponse(
            responseCode = "200",
            description = "the jobs: id, kind, status, progress, error, created_at, finished_at",
            content = @Content(array = @ArraySchema(schema = @Schema(implementation = JobSummary.class))))
    @ApiErrors.BadRequest
    @ApiErrors.Forbidden
    @Get("/jobs{?kind,all,limit}")
    public List<Map<String, Object>> jobs(
            HttpRequest<?> request,
            @Nullable @QueryValue String kind,
            @Nullable @QueryValue Boolean all,
            @Nullable @QueryValue Integer limit) {
        if (kind != null && !kind.equals("simulation") && !kind.equals("plan") && !kind.equals("capacity")) {
            throw ApiException.badRequest("kind", "'kind' must be simulation, plan or capacity, got '" + kind + "'");
        }
        if (limit != null && (limit < 1 || limit > 500)) {
            throw ApiException.badRequest("limit", "'limit' must be 1 to 500, got " + limit);
        }
        return jobs.list(AuthFilter.principal(request), kind, all != null && all, limit == null ? 50 : limit);
    }

    @Operation(operationId = "getJob", summary = "A job of either kind (its owner, operators and admins)")
    @ApiResponse(
            responseCode = "200",
            description = "the job",
            content = @Content(schema = @Schema(implementation = Job.class)))
    @ApiErrors.NotFound
    @Get("/jobs/{id}")
    public Map<String, Object> job(HttpRequest<?> request, @PathVariable String id) {
        return jobs.get(id, AuthFilter.principal(request));
    }

    private Map<String, Object> job(HttpRequest<?> request, String id, String kind) {
        Map<String, Object> j = jobs.get(id, AuthFilter.principal(request));
        if (!kind.equals(j.get("kind"))) {
            throw ApiException.notFound("id", "job '" + id + "' is a " + j.get("kind") + ", not a " + kind);
        }
        return j;
    }

    /** Server-sent events of a job: those so far, then new ones as they come, ending after the last. */
    @Operation(
            operationId = "jobEvents",
            summary = "A job's events as server-sent events (queued, started, progress, succeeded or failed)")
    @ApiResponse(
            responseCode = "200",
            description = "one JSON object per event: {type, job, at, ...}",
            content = @Content(mediaType = "text/event-stream", schema = @Schema(type = "string")))
    @ApiErrors.NotFound
    @Get("/jobs/{id}/events")
    @Produces(MediaType.TEXT_EVENT_STREAM)
    public Flux<Event<String>> events(HttpRequest<?> request, @PathVariable String id) {
        jobs.get(id, AuthFilter.principal(request));
        AtomicLong next = new AtomicLong();
        boolean[] done = {false};
        return Flux.interval(Duration.ZERO, Duration.ofMillis(200))
                .takeWhile(t -> !done[0])
                .concatMap(t -> {
                    try {
                        List<String> fresh = jobs.events(id, next.get());
                        next.addAndGet(fresh.size());
                        List<Event<String>> out = new ArrayList<>();
                        for (String e : fresh) {
                            out.add(Event.of(e));
                            if (JobService.terminal(e)) {
                                done[0] = true;
                                break;
                            }
                        }
                        return Flux.fromIterable(out);
                    } catch (Exception e) {
                        return Flux.error(e);
                    }
                })
                .take(Duration.ofHours(6));
    }
}

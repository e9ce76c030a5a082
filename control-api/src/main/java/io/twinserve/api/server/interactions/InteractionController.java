package io.twinserve.api.server.interactions;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.enums.ParameterIn;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.twinserve.api.db.generated.tables.records.InteractionsRecord;
import io.twinserve.api.server.ApiErrors;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.auth.AuthFilter;
import io.twinserve.api.server.auth.Principal;
import io.twinserve.api.server.schema.InteractionPage;
import io.twinserve.api.server.schema.InteractionRecord;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;

/**
 * Recorded inference calls, read back: a filtered list with cursor paging, and the same filters exported as
 * JSON Lines. Any key may read; a {@code user} key reads only the calls made with its user's keys.
 */
@Controller("/api/interactions")
@ExecuteOn(TaskExecutors.BLOCKING)
@Tag(name = "interactions")
@SecurityRequirement(name = "bearer")
@ApiErrors.Unauthorized
@ApiErrors.ServerError
@ApiErrors.Unavailable
public final class InteractionController {
    /** JSON Lines: one interaction object a line. */
    public static final String JSON_LINES = "application/jsonl";

    private static final int EXPORT_BATCH = 1000;

    private final InteractionReader reader;

    public InteractionController(InteractionReader reader) {
        this.reader = reader;
    }

    // a tree, so that the nulls (next_cursor at the end, a base call's adapter) are written, not dropped
    @Operation(
            operationId = "listInteractions",
            summary = "Recorded inference calls, oldest first, a page at a time (a user key: its user's calls only)")
    @Parameter(name = "deployment", in = ParameterIn.QUERY, description = "only this deployment's calls")
    @Parameter(name = "adapter", in = ParameterIn.QUERY, description = "only calls with this adapter")
    @Parameter(
            name = "key_id",
            in = ParameterIn.QUERY,
            schema = @Schema(type = "integer", format = "int64"),
            description = "only calls made with this key")
    @Parameter(
            name = "status",
            in = ParameterIn.QUERY,
            schema = @Schema(type = "integer", format = "int32", minimum = "100", maximum = "599"),
            description = "only calls that ended with this HTTP status")
    @Parameter(
            name = "since",
            in = ParameterIn.QUERY,
            schema = @Schema(type = "string", format = "date-time"),
            description = "started at or after (ISO-8601)")
    @Parameter(
            name = "until",
            in = ParameterIn.QUERY,
            schema = @Schema(type = "string", format = "date-time"),
            description = "started before (ISO-8601)")
    @Parameter(name = "cursor", in = ParameterIn.QUERY, description = "the next_cursor of the previous page")
    @Parameter(
            name = "limit",
            in = ParameterIn.QUERY,
            schema = @Schema(type = "integer", format = "int32", minimum = "1", maximum = "1000", defaultValue = "100"),
            description = "rows in a page")
    @ApiResponse(
            responseCode = "200",
            description = "a page",
            content = @Content(schema = @Schema(implementation = InteractionPage.class)))
    @ApiErrors.BadRequest
    @Get
    public ObjectNode list(HttpRequest<?> request) {
        Principal p = AuthFilter.principal(request);
        InteractionReader.Page page = reader.page(InteractionQuery.parse(request.getParameters(), true), p);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("object", "list");
        m.put("data", page.rows());
        m.put("next_cursor", page.nextCursor());
        return Bodies.JSON.valueToTree(m);
    }

    /**
     * Every matching row, oldest first, streamed a batch at a time as it is read (no page held in memory
     * but the one being sent).
     */
    @Operation(
            operationId = "exportInteractions",
            summary = "Every matching call as JSON Lines, oldest first, streamed (same filters as the list, no paging)")
    @Parameter(name = "deployment", in = ParameterIn.QUERY)
    @Parameter(name = "adapter", in = ParameterIn.QUERY)
    @Parameter(name = "key_id", in = ParameterIn.QUERY, schema = @Schema(type = "integer", format = "int64"))
    @Parameter(name = "status", in = ParameterIn.QUERY, schema = @Schema(type = "integer", format = "int32"))
    @Parameter(name = "since", in = ParameterIn.QUERY, schema = @Schema(type = "string", format = "date-time"))
    @Parameter(name = "until", in = ParameterIn.QUERY, schema = @Schema(type = "string", format = "date-time"))
    @ApiResponse(
            responseCode = "200",
            description = "one InteractionRecord JSON object a line",
            content =
                    @Content(
                            mediaType = InteractionController.JSON_LINES,
                            schema = @Schema(implementation = InteractionRecord.class)))
    @ApiErrors.BadRequest
    @Get("/export")
    public HttpResponse<Flux<byte[]>> export(HttpRequest<?> request) {
        Principal p = AuthFilter.principal(request);
        InteractionQuery q = InteractionQuery.parse(request.getParameters(), false);
        Flux<byte[]> lines = Flux.<byte[], Long>generate(() -> 0L, (after, sink) -> {
                    List<InteractionsRecord> batch = reader.fetch(q, p, after, EXPORT_BATCH);
                    if (batch.isEmpty()) {
                        sink.complete();
                        return after;
                    }
                    sink.next(jsonLines(batch));
                    return batch.getLast().getId();
                })
                .subscribeOn(Schedulers.boundedElastic());
        return HttpResponse.ok(lines).contentType(MediaType.of(JSON_LINES));
    }

    private static byte[] jsonLines(List<InteractionsRecord> batch) {
        StringBuilder sb = new StringBuilder(batch.size() * 400);
        try {
            for (InteractionsRecord r : batch) {
                sb.append(Bodies.JSON.writeValueAsString(InteractionReader.row(r)))
                        .append('\n');
            }
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }
}

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
import io.twinserve.api.db.generated.tables.records.InteractionsRecord;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.auth.AuthFilter;
import io.twinserve.api.server.auth.Principal;
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
public final class InteractionController {
    /** JSON Lines: one interaction object a line. */
    public static final String JSON_LINES = "application/jsonl";

    private static final int EXPORT_BATCH = 1000;

    private final InteractionReader reader;

    public InteractionController(InteractionReader reader) {
        this.reader = reader;
    }

    // a tree, so that the nulls (next_cursor at the end, a base call's adapter) are written, not dropped
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

package io.twinserve.api.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.experiments.report.ReportJson;

/** The JSON that commands print with {@code --json}: the project's one report form. */
final class Json {
    static final ObjectMapper MAPPER = ReportJson.MAPPER;

    private Json() {}

    static String write(Object value) {
        return ReportJson.write(value);
    }
}

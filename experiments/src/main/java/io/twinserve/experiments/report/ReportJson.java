package io.twinserve.experiments.report;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;

/**
 * The one JSON form of results (command output with --json, regression goldens): snake_case keys, two-
 * space indentation, NaN and infinities as null. Deterministic for equal inputs.
 */
public final class ReportJson {
    public static final ObjectMapper MAPPER = create();

    private ReportJson() {}

    private static ObjectMapper create() {
        ObjectMapper m = new ObjectMapper();
        m.setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
        m.enable(SerializationFeature.INDENT_OUTPUT);
        JsonSerializer<Double> nanAsNull = new JsonSerializer<>() {
            @Override
            public void serialize(Double v, JsonGenerator g, SerializerProvider p) throws IOException {
                if (v == null || v.isNaN() || v.isInfinite()) {
                    g.writeNull();
                } else {
                    g.writeNumber(v);
                }
            }
        };
        SimpleModule module = new SimpleModule();
        module.addSerializer(Double.class, nanAsNull);
        module.addSerializer(double.class, nanAsNull);
        m.registerModule(module);
        return m;
    }

    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (IOException e) {
            throw new IllegalStateException("cannot render JSON", e);
        }
    }
}

package io.twinserve.api.cli;

import io.twinserve.traces.format.TraceFormat;
import picocli.CommandLine;

/** Parses a format name for picocli, so that an unknown one is a usage error (exit code 2). */
final class FormatConverter implements CommandLine.ITypeConverter<TraceFormat> {
    @Override
    public TraceFormat convert(String value) {
        try {
            return TraceFormat.fromName(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}

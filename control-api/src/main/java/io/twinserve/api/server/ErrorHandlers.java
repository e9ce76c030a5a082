package io.twinserve.api.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.convert.exceptions.ConversionErrorException;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.exceptions.ContentLengthExceededException;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import io.micronaut.web.router.exceptions.UnsatisfiedRouteException;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Turns every failure into OpenAI's error JSON with a 4xx status when the caller is at fault. */
final class ErrorHandlers {
  private static final Logger LOG = LoggerFactory.getLogger(ErrorHandlers.class);

  private ErrorHandlers() {}

  static HttpResponse<?> respond(HttpStatus status, String type, String param, String code, String message) {
    return HttpResponse.status(status).contentType(MediaType.APPLICATION_JSON_TYPE)
        .body(ApiException.errorBody(message, type, param, code));
  }

  @Singleton
  @Produces
  @Requires(classes = {ApiException.class, ExceptionHandler.class})
  static final class Api implements ExceptionHandler<ApiException, HttpResponse<?>> {
    @Override
    public HttpResponse<?> handle(HttpRequest request, ApiException e) {
      return respond(e.status(), e.type(), e.param(), e.code(), e.getMessage());
    }
  }

  @Singleton
  @Produces
  @Requires(classes = {JsonProcessingException.class, ExceptionHandler.class})
  static final class Json implements ExceptionHandler<JsonProcessingException, HttpResponse<?>> {
    @Override
    public HttpResponse<?> handle(HttpRequest request, JsonProcessingException e) {
      String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column "
          + e.getLocation().getColumnNr();
      return respond(HttpStatus.BAD_REQUEST, "invalid_request_error", null, "invalid_json",
          "the request body is not valid JSON" + where + ": " + e.getOriginalMessage());
    }
  }

  @Singleton
  @Produces
  @Requires(classes = {ContentLengthExceededException.class, ExceptionHandler.class})
  static final class TooLarge implements ExceptionHandler<ContentLengthExceededException, HttpResponse<?>> {
    @Override
    public HttpResponse<?> handle(HttpRequest request, ContentLengthExceededException e) {
      return respond(HttpStatus.REQUEST_ENTITY_TOO_LARGE, "invalid_request_error", null, "request_too_large",
          "the request body is too large: " + e.getMessage() + " (the limit is set by TWINSERVE_MAX_REQUEST_BYTES)");
    }
  }

  @Singleton
  @Produces
  @Requires(classes = {ConversionErrorException.class, ExceptionHandler.class})
  static final class Conversion implements ExceptionHandler<ConversionErrorException, HttpResponse<?>> {
    @Override
    public HttpResponse<?> handle(HttpRequest request, ConversionErrorException e) {
      return respond(HttpStatus.BAD_REQUEST, "invalid_request_error", e.getArgument().getName(), null,
          "'" + e.getArgument().getName() + "' could not be read: " + e.getMessage());
    }
  }

  @Singleton
  @Produces
  @Requires(classes = {UnsatisfiedRouteException.class, ExceptionHandler.class})
  static final class Unsatisfied implements ExceptionHandler<UnsatisfiedRouteException, HttpResponse<?>> {
    @Override
    public HttpResponse<?> handle(HttpRequest request, UnsatisfiedRouteException e) {
      return respond(HttpStatus.BAD_REQUEST, "invalid_request_error", e.getArgument().getName(), null,
          e.getMessage());
    }
  }

  @Singleton
  @Produces
  @Requires(classes = {IllegalArgumentException.class, ExceptionHandler.class})
  static final class BadArgument implements ExceptionHandler<IllegalArgumentException, HttpResponse<?>> {
    @Override
    public HttpResponse<?> handle(HttpRequest request, IllegalArgumentException e) {
      return respond(HttpStatus.BAD_REQUEST, "invalid_request_error", null, null, e.getMessage());
    }
  }

  @Singleton
  @Produces
  @Requires(classes = {RuntimeException.class, ExceptionHandler.class})
  static final class Unexpected implements ExceptionHandler<RuntimeException, HttpResponse<?>> {
    @Override
    public HttpResponse<?> handle(HttpRequest request, RuntimeException e) {
      LOG.error("{} {} failed", request.getMethod(), request.getPath(), e);
      return respond(HttpStatus.INTERNAL_SERVER_ERROR, "server_error", null, null,
          "internal error: " + e.getClass().getSimpleName() + ": " + e.getMessage());
    }
  }
}

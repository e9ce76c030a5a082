package io.twinserve.api.server;

import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.swagger.v3.oas.annotations.Hidden;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * The API reference page at {@code /docs/api}: Swagger UI over the server's own OpenAPI document, its
 * scripts and styles served from the swagger-ui webjar in the jar, so it works without internet access.
 */
@Controller("/docs/api")
@Hidden
public final class ApiReferenceController {
    private static final String WEBJAR = "META-INF/resources/webjars/swagger-ui/";
    /** File names of the webjar's top folder only: nothing else on the class path can be asked for. */
    private static final Pattern ASSET = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private final byte[] page;
    private final String assets;

    public ApiReferenceController() {
        this.page = resource("io/twinserve/api/server/api-reference.html");
        this.assets = WEBJAR + webjarVersion() + "/";
    }

    @Get
    public HttpResponse<byte[]> page() {
        return HttpResponse.ok(page).contentType(MediaType.TEXT_HTML_TYPE.getName() + ";charset=utf-8");
    }

    @Get("/assets/{file}")
    public HttpResponse<byte[]> asset(@PathVariable String file) {
        if (!ASSET.matcher(file).matches() || file.contains("..")) {
            throw ApiException.notFound("file", "no asset '" + file + "'");
        }
        try (InputStream in = getClass().getClassLoader().getResourceAsStream(assets + file)) {
            if (in == null) {
                throw ApiException.notFound("file", "no asset '" + file + "'");
            }
            return HttpResponse.ok(in.readAllBytes())
                    .contentType(MediaType.forFilename(file))
                    .header("Cache-Control", "max-age=86400");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String webjarVersion() {
        Properties p = new Properties();
        try (InputStream in = ApiReferenceController.class
                .getClassLoader()
                .getResourceAsStream("META-INF/maven/org.webjars/swagger-ui/pom.properties")) {
            if (in == null) {
                throw new IllegalStateException("the swagger-ui webjar is not on the class path");
            }
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p.getProperty("version");
    }

    private static byte[] resource(String name) {
        try (InputStream in = ApiReferenceController.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The API reference page: HTML from the server itself, whose document and every asset answer 200. */
@ExtendWith(TestServer.Extension.class)
class ApiReferencePageTest {
    private static final Pattern REFERENCE = Pattern.compile("(?:src|href|url)\\s*[=:]\\s*\"([^\"]+)\"");

    @Test
    void pageIsServedWithoutAKeyAndEverythingItLoadsIsOnThisServer(TestServer server) {
        TestServer.Reply page = server.get("/docs/api", null);
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.contentType()).startsWith("text/html");
        List<String> references = new ArrayList<>();
        Matcher m = REFERENCE.matcher(page.body());
        while (m.find()) {
            references.add(m.group(1));
        }
        assertThat(references)
                .contains("/openapi/twinserve-0.1.yml", "/docs/api/assets/swagger-ui-bundle.js")
                .allSatisfy(r -> assertThat(r).startsWith("/"));
        for (String r : references) {
            TestServer.Reply asset = server.get(r, null);
            assertThat(asset.status()).as(r).isEqualTo(200);
            assertThat(asset.body()).as(r).isNotEmpty();
        }
        assertThat(server.get("/docs/api/assets/swagger-ui-bundle.js", null).contentType())
                .contains("javascript");
        assertThat(server.get("/docs/api/assets/swagger-ui.css", null).contentType())
                .startsWith("text/css");
    }

    @Test
    void onlyTheWebjarsOwnFilesAreServed(TestServer server) {
        assertThat(server.get("/docs/api/assets/no-such-file.js", null).status())
                .isEqualTo(404);
        assertThat(server.get("/docs/api/assets/..%2F..%2Fapplication.yml", null)
                        .status())
                .isEqualTo(404);
    }
}

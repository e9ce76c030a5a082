package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console end to end in headless Chromium (Debian's {@code chromium} and {@code chromium-driver}, which
 * {@code .ci/run} installs) against the real server on embedded PostgreSQL and Redis: signing in, a what-if with a
 * YAML error shown inline and then run to its charts, a sweep, a plan applied to a deployment created in the
 * page, the playground streaming, the admin page, and a user key without a grant refused. Screenshots of the main
 * pages go to {@code target/console-screenshots} (the ones in docs/console.md come from there).
 */
@ExtendWith(TestServer.Extension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleBrowserTest {
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final Path SHOTS = Path.of("target", "console-screenshots");

    private static TestServer server;
    private static WebDriver browser;
    private static String deployment;
    private static String pool;
    private static String model;

    @BeforeAll
    static void start(TestServer s) throws IOException {
        server = s;
        Path driver = Path.of("/usr/bin/chromedriver");
        Path chromium = Path.of("/usr/bin/chromium");
        Assumptions.assumeTrue(
                Files.isExecutable(driver) && Files.isExecutable(chromium),
                "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver; .ci/run does)");
        pool = s.unique("console-h100");
        model = s.unique("console-llama");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\", \"gpus\": 2}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
        s.create("/api/models/" + model + "/adapters", "{\"name\": \"sql\", \"rank\": 8}");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000");
        browser = new ChromeDriver(
                new ChromeDriverService.Builder()
                        .usingDriverExecutable(driver.toFile())
                        .build(),
                options);
        Files.createDirectories(SHOTS);
    }

    /** The page as each test left it, for whoever reads a failure (target/console-screenshots/after-*.png). */
    @org.junit.jupiter.api.AfterEach
    void after(org.junit.jupiter.api.TestInfo test) throws IOException {
        if (browser != null) {
            String name = "after-" + test.getTestMethod().orElseThrow().getName();
            shot(name);
            Files.writeString(SHOTS.resolve(name + ".txt"), String.valueOf(js("return document.body.innerText")));
        }
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.quit();
        }
    }

    private static WebDriverWait await() {
        return new WebDriverWait(browser, WAIT);
    }

    private static WebElement find(String css) {
        return await().until(d -> {
            List<WebElement> e = d.findElements(By.cssSelector(css));
            return e.isEmpty() || !e.getFirst().isDisplayed() ? null : e.getFirst();
        });
    }

    private static Object js(String script, Object... args) {
        return ((JavascriptExecutor) browser).executeScript(script, args);
    }

    /** The number of points a chart on the page has drawn (0 when there is no such chart). */
    private static long points(String canvas) {
        Object n = js(
                "const c = Chart.getChart(arguments[0]); if (!c) return 0;"
                        + " return c.data.datasets.reduce((a, d) => a + d.data.filter(v => v !== null).length, 0);",
                canvas);
        return ((Number) n).longValue();
    }

    private static void shot(String name) throws IOException {
        Files.write(SHOTS.resolve(name + ".png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
    }

    private static void signIn(String key) {
        browser.get(server.uri() + "/#/signin");
        WebElement field = find("#key");
        field.clear();
        field.sendKeys(key);
        find("#signin").click();
        await().until(d ->
                d.findElement(By.id("nav")).isDisplayed() && d.getCurrentUrl().endsWith("#/whatif"));
    }

    private static void setText(String css, String text) {
        WebElement e = find(css);
        js("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));", e, text);
    }

    @Test
    @Order(1)
    void aBadKeyIsRefusedAndTheAdminKeySignsIn() throws IOException {
        browser.get(server.uri() + "/");
        find("#key").sendKeys("tsk_not-a-key");
        find("#signin").click();
        await().until(d ->
                d.findElement(By.cssSelector("#signin-form .error")).getText().contains("not valid"));
        // the session cookie is HttpOnly: the page's script cannot read it
        signIn(server.adminKey());
        assertThat(js("return document.cookie")).asString().doesNotContain("twinserve_session");
        assertThat(find("#who").getText()).contains("admin");
        find("#workload");
        shot("what-if");
    }

    @Test
    @Order(2)
    void aWhatIfShowsTheParsersErrorInlineThenRunsToItsCharts() throws IOException {
        browser.get(server.uri() + "/#/whatif");
        String good = find("#workload").getAttribute("value");
        setText("#workload", good.replace("ranks: [", "rank: ["));
        find("#check").click();
        WebElement error = await().until(d -> {
            WebElement e = d.findElement(By.id("workload-error"));
            return e.getText().isEmpty() ? null : e;
        });
        // the parser's own message: the line, the key path and a did-you-mean
        assertThat(error.getText())
                .startsWith("line ")
                .contains("adapters.rank")
                .contains("ranks");
        setText("#workload", good);
        setText("#window", "120");
        find("#run").click();
        await().until(d -> "succeeded".equals(d.findElement(By.id("job-status")).getAttribute("data-status")));
        assertThat(find("#verdict").getText()).matches("(Meets|Misses) the SLO.*");
        await().until(d -> points("run-throughput") == 6
                && points("run-latency") == 8
                && points("run-cdf") == 30
                && points("run-timeline") > 3);
        shot("what-if-result");
        js("document.getElementById('run-cdf').scrollIntoView()");
        shot("what-if-charts");
        assertThat(browser.findElements(By.id("run-notices")))
                .as("the study's workload needs no notice")
                .isEmpty();
        // the same workload in multi-turn sessions, on the built-in deployment (prefix caching off, as in the study):
        // the result says the sessions' prefixes go uncached
        browser.get(server.uri() + "/#/whatif");
        find("#workload");
        setText(
                "#workload",
                good + "\nsessions: {turns: {type: fixed, value: 2}, think_time_s: {type: fixed, value: 1}}\n");
        setText("#window", "60");
        find("#run").click();
        await().until(d -> "succeeded".equals(d.findElement(By.id("job-status")).getAttribute("data-status")));
        assertThat(find("#run-notices").getText())
                .contains("note: ")
                .contains("the workload: its multi-turn sessions repeat each earlier turn")
                .contains("replica.prefix_caching: false");
    }

    @Test
    @Order(3)
    void aSweepComparesItsConfigurationsInATableAndAChart() throws IOException {
        browser.get(server.uri() + "/#/whatif");
        find("#workload");
        setText("#window", "60");
        setText("#sweep", "replica.max_adapters=8,32");
        find("#run").click();
        await().until(d -> "succeeded".equals(d.findElement(By.id("job-status")).getAttribute("data-status")));
        assertThat(browser.findElements(By.cssSelector("#sweep-table tbody tr")))
                .hasSize(2);
        // the best configuration under the SLO, or where none meets it the closest, is marked
        assertThat(browser.findElements(By.cssSelector("#sweep-table tr.best"))).hasSize(1);
        await().until(d -> points("sweep-chart") == 4);
        shot("sweep");
        // both studies are listed, and two of them open side by side
        browser.get(server.uri() + "/#/studies");
        List<WebElement> boxes = await().until(d -> {
            List<WebElement> b = d.findElements(By.cssSelector("#studies input[type=checkbox]:not([disabled])"));
            return b.size() >= 2 ? b : null;
        });
        boxes.get(0).click();
        boxes.get(1).click();
        find("#compare").click();
        await().until(d -> d.findElements(By.cssSelector("#left canvas")).size() > 0
                && d.findElements(By.cssSelector("#right canvas")).size() > 0);
    }

    @Test
    @Order(3)
    void aClusterWhatIfRunsFromAPickedWorkload() throws IOException {
        browser.get(server.uri() + "/#/whatif");
        find("#workload");
        new Select(find("#workload-pick")).selectByIndex(1);
        assertThat(find("#workload").getAttribute("value")).contains("sessions");
        new Select(find("#spec-kind")).selectByValue("cluster");
        String template = find("#deployment").getAttribute("value");
        assertThat(template).contains("deployments:", "max_cpu_adapters: 384}");
        // the deployment does not cache prefixes: the sessions' repeated turns are noted on the result
        setText(
                "#deployment",
                template.replace("max_cpu_adapters: 384}", "max_cpu_adapters: 384, prefix_caching: false}"));
        setText("#window", "60");
        find("#run").click();
        await().until(d -> "succeeded".equals(d.findElement(By.id("job-status")).getAttribute("data-status")));
        assertThat(find("#cluster").getText()).contains("chat");
        assertThat(find("#cluster-notices").getText())
                .contains("the workload: its multi-turn sessions repeat each earlier turn")
                .contains("but deployment chat of the cluster has replica.prefix_caching: false");
        await().until(d -> points("cluster0-timeline") > 3 && points("cluster0-cdf") == 30);
        shot("cluster");
    }

    @Test
    @Order(4)
    void aDeploymentCreatedInThePageTakesAPlanAndStreamsInThePlayground() throws Exception {
        deployment = server.unique("console-sim");
        browser.get(server.uri() + "/#/deployments");
        setText("#new-name", deployment);
        new Select(find("#new-model")).selectByValue(model);
        new Select(find("#new-pool")).selectByValue(pool);
        find("#create").click();
        await().until(d -> d.getCurrentUrl().endsWith("#/deployment/" + deployment));
        await().until(d ->
                !d.findElements(By.cssSelector("#deployment-info table")).isEmpty());
        // where it serves, from every instance's report: this test's one server
        assertThat(find("#instances").getText()).isEqualTo("serving on 1 of 1 instance");
        assertThat(browser.findElements(By.cssSelector("#instance-failures li")))
                .isEmpty();

        new Select(find("#chat-model")).selectByValue(deployment + ":sql");
        setText("#chat-max", "12");
        find("#chat-input").sendKeys("Hello there");
        find("#chat-send").click();
        WebElement reply = await().until(d -> {
            List<WebElement> out = d.findElements(By.cssSelector("#chat-log .assistant[data-done=true]"));
            return out.isEmpty() ? null : out.getFirst();
        });
        assertThat(reply.getText()).isNotBlank();
        await().until(d -> points("live") > 1);
        // the request just made shows on the latency chart once the interactions log has it
        server.flushInteractions();
        await().until(d -> points("latency-live") >= 1);
        // the replica's queue and where its adapters are, as the API reports them
        JsonNode replica = server.get("/api/deployments/" + deployment, server.adminKey())
                .json()
                .path("replicas")
                .get(0);
        assertThat(replica.has("waiting") && replica.has("running")).isTrue();
        assertThat(replica.path("state").asText()).isEqualTo("serving");
        // the replica table's row: its number, then its state
        await().until(d ->
                d.findElements(By.cssSelector("#deployment-info tbody tr td")).size() > 1
                        && d.findElements(By.cssSelector("#deployment-info tbody tr td"))
                                .get(1)
                                .getText()
                                .equals("serving"));
        assertThat(replica.path("adapters_in_slots").toString() + replica.path("adapters_in_host"))
                .contains("\"sql\"");
        await().until(d -> d.findElement(By.id("adapters"))
                .getText()
                .matches("(?s).*sql \\(in (GPU slots|host memory) on 1 of 1\\).*"));
        shot("deployment");

        browser.get(server.uri() + "/#/plans");
        find("#plan-workload");
        find("#verify").click(); // unchecked: the model's answer alone, in seconds
        // the planner's own objectives; for a deployment (the built-in one, with prefix caching on)
        new Select(find("#objective")).selectByValue("throughput-per-gpu");
        assertThat(browser.findElement(By.id("plan-deployment")).isDisplayed()).isFalse();
        find("#plan-for-deployment").click();
        assertThat(find("#plan-deployment").isDisplayed()).isTrue();
        String builtIn = find("#plan-deployment").getAttribute("value");
        assertThat(builtIn).contains("prefix_caching: false");
        setText("#plan-deployment", builtIn.replace("prefix_caching: false", "prefix_caching: true"));
        find("#ask-plan").click();
        await().until(d -> "succeeded".equals(d.findElement(By.id("job-status")).getAttribute("data-status")));
        assertThat(find("#plan").getText()).contains("max_adapters").contains("kv_cache_len");
        assertThat(find("#plan-deployment-name").getText()).startsWith("For the deployment: its model and GPU");
        // each tree's rules under its name, in plain words
        assertThat(find("#rules").getText()).contains("served", "slots", "slo").doesNotContain("[object");
        assertThat(browser.findElements(By.cssSelector("#rules h3"))).hasSize(3);
        assertThat(find("#plan-notes").getText())
                .contains("the deployment differs from the settings the trees were trained with: prefix_caching true"
                        + " (trained false)");
        new Select(find("#apply-to")).selectByValue(deployment);
        find("#apply-plan").click();
        await().until(d -> !d.findElement(By.id("apply-result")).getText().isEmpty());
        assertThat(find("#apply-result").getText()).startsWith("Applied: " + deployment);
        shot("plan");

        // a verified plan whose twin searches find another configuration (384 of the study's adapters on an H200):
        // the page says Apply uses the twin's answer, and which
        TestServer.Reply verified = server.post(
                "/api/plans",
                server.adminKey(),
                "{\"workload\": " + OperationsTest.STUDY_384 + ", \"pools\": [\"h200\"], \"verify\": true}");
        assertThat(verified.status()).as(verified.body()).isEqualTo(202);
        String job = verified.json().get("id").asText();
        browser.get(server.uri() + "/#/job/" + job);
        await().until(d -> "succeeded".equals(d.findElement(By.id("job-status")).getAttribute("data-status")));
        com.fasterxml.jackson.databind.JsonNode answer = server.get("/api/plans/" + job, server.adminKey())
                .json()
                .path("result")
                .path("answer");
        assertThat(find("#plan-answer").getText())
                .startsWith("Apply uses the twin's answer (")
                .contains(answer.path("served_per_gpu").asInt() + " adapters a replica, max_adapters "
                        + answer.path("max_adapters").asInt() + ", tp "
                        + answer.path("tp").asInt() + ", pool h200");
    }

    @Test
    @Order(5)
    void theDeploymentPageShowsItsShadowTwinAndItsAlarm() throws Exception {
        String shadowed = server.unique("console-shadow");
        server.create(
                "/api/deployments",
                "{\"name\": \"" + shadowed + "\", \"model\": \"" + model + "\", \"mode\": \"simulated\","
                        + " \"compute_config\": {\"max_adapters\": 2, \"shadow\": {\"window_s\": 1, \"warmup_windows\": 1,"
                        + " \"min_requests\": 2, \"settle_s\": 5}},"
                        + " \"placement\": {\"compute_pools\": [\"" + pool + "\"]}, \"time_scale\": 1}");
        // a few seconds of requests, four at a time
        java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(4);
        long until = System.nanoTime() + 4_000_000_000L;
        List<java.util.concurrent.Future<?>> sent = new java.util.ArrayList<>();
        for (int c = 0; c < 4; c++) {
            sent.add(clients.submit(() -> {
                while (System.nanoTime() < until) {
                    server.post(
                            "/v1/completions",
                            server.adminKey(),
                            "{\"model\": \"" + shadowed + ":sql\", \"prompt\": \"shadow\", \"max_tokens\": 8}");
                }
                return null;
            }));
        }
        for (var f : sent) {
            f.get();
        }
        clients.shutdown();
        browser.get(server.uri() + "/#/deployment/" + shadowed);
        await().until(d -> points("shadow") >= 4);
        WebElement alarm = find("#shadow-alarm");
        await().until(d -> !"off".equals(alarm.getAttribute("data-state"))
                && alarm.getText().contains("window"));
        // the page says what the API says
        JsonNode api = server.get("/api/deployments/" + shadowed + "/shadow", server.adminKey())
                .json();
        String expected = api.path("alarm").path("active").asBoolean() ? "alarm" : "ok";
        await().until(d -> expected.equals(alarm.getAttribute("data-state")));
        assertThat(alarm.getText()).startsWith(expected.equals("alarm") ? "Drift alarm (" : "No drift alarm: ");
        js("document.getElementById('shadow-alarm').scrollIntoView()");
        shot("shadow");

        // a deployment without shadow mode says how to turn it on
        browser.get(server.uri() + "/#/deployment/" + deployment);
        await().until(d -> "off".equals(d.findElement(By.id("shadow-alarm")).getAttribute("data-state")));
        assertThat(find("#shadow-alarm").getText()).contains("compute_config.shadow");
        server.delete("/api/deployments/" + shadowed, server.adminKey());
    }

    @Test
    @Order(6)
    void theAdminPageListsKeysAndUsage() throws Exception {
        server.flushInteractions();
        browser.get(server.uri() + "/#/admin");
        await().until(d -> d.findElements(By.cssSelector("#keys tbody tr")).size() >= 1);
        await().until(d ->
                !d.findElements(By.cssSelector("#interactions tbody tr")).isEmpty());
        shot("admin");
    }

    @Test
    @Order(7)
    void aUserKeyWithoutTheGrantIsRefusedWhatTheApiRefuses() throws IOException {
        String user = server.unique("console-user");
        String key = server.createKey(user, "user").path("key").asText();
        find("#signout").click();
        await().until(d -> d.getCurrentUrl().endsWith("#/signin"));
        signIn(key);
        assertThat(find("#who").getText()).contains("(user)");
        // no admin tab, and the page itself is refused by the API
        assertThat(browser.findElement(By.cssSelector("#nav a[data-page=admin]"))
                        .isDisplayed())
                .isFalse();
        browser.get(server.uri() + "/#/admin");
        assertThat(find("#keys .error").getText()).startsWith("Refused: ").contains("admin role");
        // the playground of a deployment it has no grant on
        browser.get(server.uri() + "/#/deployment/" + deployment);
        assertThat(find("#chat-refused").getText()).startsWith("Refused: ");
        shot("refused");
        // with a grant, the same page streams
        server.create(
                "/api/permissions",
                "{\"user\": \"" + user + "\", \"deployment\": \"" + deployment + "\", \"adapter\": \"sql\"}");
        browser.navigate().refresh();
        new Select(find("#chat-model")).selectByValue(deployment + ":sql");
        find("#chat-input").sendKeys("Hi");
        find("#chat-send").click();
        await().until(d -> !d.findElements(By.cssSelector("#chat-log .assistant[data-done=true]"))
                .isEmpty());
    }

    @Test
    @Order(9)
    void aCapacitySearchPlotsItsParetoFrontAndAPointOpensItsConfiguration() throws IOException {
        signIn(server.adminKey());
        browser.get(server.uri() + "/#/capacity");
        String spec = find("#capacity").getAttribute("value");
        // the built-in search narrowed to 6 candidates: 3 pools x 2 replica counts
        String narrowed = spec.replaceAll("tp: \\[[^]]*]", "tp: [1]")
                .replaceAll("replicas: \\[[^]]*]", "replicas: [1, 2]")
                .replaceAll("max_adapters: \\[[^]]*]", "max_adapters: [8]")
                .replaceAll("routers: \\[.*]", "routers: [{type: least_loaded}]");
        assertThat(narrowed).isNotEqualTo(spec);
        setText("#capacity", narrowed);
        find("#run-capacity").click();
        await().until(d -> "succeeded".equals(d.findElement(By.id("job-status")).getAttribute("data-status")));
        await().until(d -> points("pareto") == 6);
        assertThat(browser.findElements(By.cssSelector("#pareto-table tbody tr")))
                .isNotEmpty();
        // a click on a point opens that candidate's configuration
        WebElement canvas = find("#pareto");
        @SuppressWarnings("unchecked")
        List<Object> target = (List<Object>)
                js(
                        "const c = Chart.getChart('pareto'); const ds = c.data.datasets[1].data.length ? 1 : 0;"
                                + " const i = c.data.datasets[ds].data.length - 1; const p = c.getDatasetMeta(ds).data[i];"
                                + " const r = c.data.datasets[ds].data[i].c;"
                                + " return [p.x, p.y, r.candidate.pool + ' tp' + r.candidate.tp + ' x' + r.candidate.replicas];");
        int dx = (int) Math.round(
                ((Number) target.get(0)).doubleValue() - canvas.getSize().getWidth() / 2.0);
        int dy = (int) Math.round(
                ((Number) target.get(1)).doubleValue() - canvas.getSize().getHeight() / 2.0);
        new org.openqa.selenium.interactions.Actions(browser)
                .moveToElement(canvas, dx, dy)
                .click()
                .perform();
        await().until(d ->
                d.findElement(By.cssSelector("#candidate h2")).getText().startsWith((String) target.get(2)));
        shot("capacity");
    }

    @Test
    @Order(8)
    void thePagesFitAPhone() throws IOException {
        browser.manage().window().setSize(new Dimension(390, 844));
        browser.get(server.uri() + "/#/whatif");
        find("#workload");
        // nothing wider than the screen: the page does not scroll sideways
        assertThat(((Number) js("return document.documentElement.scrollWidth")).intValue())
                .isLessThanOrEqualTo(390);
        shot("phone");
        browser.manage().window().setSize(new Dimension(1280, 1000));
    }
}

package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.client.ApiClient;
import io.twinserve.client.ApiException;
import io.twinserve.client.api.AdminApi;
import io.twinserve.client.api.InteractionsApi;
import io.twinserve.client.api.OpenaiApi;
import io.twinserve.client.api.RegistryApi;
import io.twinserve.client.model.ChatCompletion;
import io.twinserve.client.model.ChatCompletionRequest;
import io.twinserve.client.model.ChatMessage;
import io.twinserve.client.model.ComputeConfig;
import io.twinserve.client.model.ComputePool;
import io.twinserve.client.model.ComputePoolCreate;
import io.twinserve.client.model.Deployment;
import io.twinserve.client.model.DeploymentCreate;
import io.twinserve.client.model.ErrorResponse;
import io.twinserve.client.model.InteractionPage;
import io.twinserve.client.model.Model;
import io.twinserve.client.model.ModelCreate;
import io.twinserve.client.model.ModelList;
import io.twinserve.client.model.OpenAiModel;
import io.twinserve.client.model.PlacementSpec;
import io.twinserve.client.model.TextCompletion;
import io.twinserve.client.model.TextCompletionRequest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A Java client generated at build time from the server's own OpenAPI document (openapi-generator, the
 * {@code native} library, into target/generated-test-sources) calls the real server. Its JSON mapper refuses
 * unknown properties, so an answer with a field the document does not list fails here: the document and
 * the server cannot drift apart unnoticed.
 */
@ExtendWith(TestServer.Extension.class)
class OpenApiClientTest {
    private static TestServer server;
    private static ApiClient client;
    private static String deployment;

    @BeforeAll
    static void connect(TestServer s) {
        server = s;
        ObjectMapper strict = ApiClient.createDefaultObjectMapper()
                .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);
        client = new ApiClient(
                ApiClient.createDefaultHttpClientBuilder(), strict, s.uri().toString());
        client.setReadTimeout(Duration.ofSeconds(60));
        client.setRequestInterceptor(b -> b.header("Authorization", "Bearer " + s.adminKey()));
        deployment = s.unique("generated");
    }

    @AfterAll
    static void undeploy() {
        server.delete("/api/deployments/" + deployment, server.adminKey());
    }

    @Test
    void aGeneratedClientCreatesAPoolAModelAndADeploymentThenChats() throws Exception {
        RegistryApi registry = new RegistryApi(client);
        String poolName = server.unique("generated-h100");
        String modelName = server.unique("generated-llama8b");
        ComputePool pool = registry.createComputePool(new ComputePoolCreate()
                .name(poolName)
                .gpu("h100-sxm-80gb")
                .gpus(2)
                .description("made by the generated client"));
        assertThat(pool.getName()).isEqualTo(poolName);
        assertThat(pool.getGpus()).isEqualTo(2);
        assertThat(pool.getId()).isPositive();
        Model model = registry.createModel(new ModelCreate().name(modelName).profile("llama-3.1-8b"));
        assertThat(model.getProfile()).isEqualTo("llama-3.1-8b");
        Deployment d = registry.createDeployment(new DeploymentCreate()
                .name(deployment)
                .model(modelName)
                .mode(DeploymentCreate.ModeEnum.SIMULATED)
                .computeConfig(new ComputeConfig().maxAdapters(2).kvCacheLen(8192))
                .placement(new PlacementSpec().computePools(List.of(poolName)).maxTtftMs(60_000L))
                .timeScale(1000.0));
        assertThat(d.getMode()).isEqualTo(Deployment.ModeEnum.SIMULATED);
        assertThat(d.getComputeConfig().getMaxAdapters()).isEqualTo(2);
        assertThat(d.getPlacement().getComputePools()).containsExactly(poolName);
        assertThat(d.getPlacement().getRouter().getType()).isNotNull();
        assertThat(registry.getDeployment(deployment).getReplicas()).isNotEmpty();
        assertThat(registry.listModels()).extracting(Model::getName).contains(modelName);

        OpenaiApi openai = new OpenaiApi(client);
        ModelList models = openai.listOpenAiModels();
        assertThat(models.getData()).extracting(OpenAiModel::getId).contains(deployment);
        assertThat(openai.retrieveOpenAiModel(deployment).getRoot()).isEqualTo(deployment);

        ChatCompletion chat = openai.createChatCompletion(new ChatCompletionRequest()
                .model(deployment)
                .addMessagesItem(
                        new ChatMessage().role(ChatMessage.RoleEnum.USER).content("hello"))
                .maxTokens(4));
        assertThat(chat.getObject()).isEqualTo("chat.completion");
        assertThat(chat.getChoices()).hasSize(1);
        assertThat(chat.getChoices().get(0).getMessage().getContent()).isNotEmpty();
        assertThat(chat.getUsage().getCompletionTokens()).isEqualTo(4);
        TextCompletion text = openai.createCompletion(new TextCompletionRequest()
                .model(deployment)
                .prompt("once upon")
                .maxTokens(3));
        assertThat(text.getChoices().get(0).getText()).isNotEmpty();
        assertThat(text.getUsage().getCompletionTokens()).isEqualTo(3);

        server.flushInteractions();
        InteractionPage page =
                new InteractionsApi(client).listInteractions(deployment, null, null, null, null, null, null, 10);
        assertThat(page.getData()).hasSize(2);
        assertThat(page.getNextCursor()).isNull();
        assertThat(new AdminApi(client).listKeys()).isNotEmpty();
    }

    @Test
    void aRefusalIsReadAsTheTypedError() {
        RegistryApi registry = new RegistryApi(client);
        assertThatThrownBy(() -> registry.createComputePool(
                        new ComputePoolCreate().name(server.unique("bad-pool")).gpu("h999")))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.getCode()).isEqualTo(400);
                    ErrorResponse error = read(e.getResponseBody());
                    assertThat(error.getError().getType()).isEqualTo("invalid_request_error");
                    assertThat(error.getError().getParam()).isEqualTo("gpu");
                    assertThat(error.getError().getMessage()).contains("h999");
                });
        assertThatThrownBy(() -> new OpenaiApi(client).retrieveOpenAiModel(server.unique("nothing")))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.getCode()).isEqualTo(404);
                    assertThat(read(e.getResponseBody()).getError().getCode()).isEqualTo("not_found");
                });
    }

    private static ErrorResponse read(String body) {
        try {
            return client.getObjectMapper().readValue(body, ErrorResponse.class);
        } catch (Exception e) {
            throw new AssertionError("not the documented error: " + body, e);
        }
    }
}

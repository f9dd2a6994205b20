package dev.keystone.catalog;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Parameters against an entry's schema when a hostile publisher wrote the schema, or a tenant's
 * params hold secrets (attack on the catalog, s17: F2, F3, F4).
 */
class ParamsSchemaTest {

  static Manifest manifest(String paramsSchema) throws CatalogException {
    return Manifest.parse("m", ("""
        {"name": "x", "version": "1.0.0", "description": "d", "author": "a", "licence": "MIT",
         "scripts": {"lua": "s.lua"}, "tests": "t.json", "params": %s}""".formatted(paramsSchema)).getBytes());
  }

  @Test
  void secretsInParamsNeverAppearInMessages() throws Exception {
    // Failed before (F4): "params.keys.sk-live-SECRET-AAAA1111: String is too short", in the reload
    // answer, the log and the events the dashboard shows; and "params.keys: not a parameter".
    Manifest apiKey = Manifest.parse("api-key", Files.readAllBytes(CatalogFixture.REPOSITORY.resolve("api-key/1.0.0/entry.json")));
    JsonObject params = new JsonObject().put("keys", new JsonObject().put("sk-live-SECRET-AAAA1111", "").put("k2", "acme"));
    assertThatThrownBy(() -> ParamsSchema.check(apiKey, params)).isInstanceOf(CatalogException.class)
        .hasMessage("params.keys: String is too short (0 < 1)");
    JsonObject unknown = new JsonObject().put("keys", new JsonObject().put("sk-live-SECRET", 7)).put("colour", 1);
    assertThatThrownBy(() -> ParamsSchema.check(apiKey, unknown))
        .hasMessage("params.keys: Instance type number is invalid. Expected string; "
            + "params.colour: not a parameter of api-key@1.0.0 (its schema allows no other keys)");
  }

  @Test
  @Timeout(120) // a guard against the hang this is about, not a speed claim
  void aPatternThatBacktracksForeverIsRefusedInsteadOfRun() throws Exception {
    // Failed before (F2): the gateway never finished loading (killed at 90 s), a reload hung.
    Manifest m = manifest("{\"type\": \"object\", \"properties\": {\"message\": {\"type\": \"string\", \"pattern\": \"^(.*[a-z]){12}$\"}}}");
    String eighty = "a".repeat(40) + "0".repeat(40);
    assertThatThrownBy(() -> ParamsSchema.check(m, new JsonObject().put("message", eighty)))
        .isInstanceOf(CatalogException.class)
        .hasMessage("x@1.0.0: its params schema cannot be used: the pattern \"^(.*[a-z]){12}$\" takes too long to check "
            + "these params (a regular expression that backtracks)");
    // the same pattern on a short value is fine, and a harmless pattern on long values too
    assertThat(ParamsSchema.check(m, new JsonObject().put("message", "abcdefghijkl")).getString("message")).isEqualTo("abcdefghijkl");
    Manifest plain = manifest("{\"type\": \"object\", \"properties\": {\"m\": {\"type\": \"string\", \"pattern\": \"^[a-z0-9]+$\"}}}");
    assertThat(ParamsSchema.check(plain, new JsonObject().put("m", "a".repeat(60_000))).getString("m")).hasSize(60_000);
    assertThatThrownBy(() -> ParamsSchema.check(manifest("{\"type\": \"object\", \"patternProperties\": {\"(\": {}}}"),
        new JsonObject().put("a", 1))).hasMessageContaining("x@1.0.0: its params schema cannot be used: the pattern \"(\" is not a regular expression");
  }

  @Test
  void aRefCycleIsASchemaErrorNotACrash() throws Exception {
    // Failed before (F3): StackOverflowError out of the config load (no config error, the start died).
    Manifest m = manifest("{\"type\": \"object\", \"$defs\": {\"a\": {\"$ref\": \"#/$defs/b\"}, \"b\": {\"$ref\": \"#/$defs/a\"}},"
        + " \"properties\": {\"x\": {\"$ref\": \"#/$defs/a\"}}}");
    assertThatThrownBy(() -> ParamsSchema.check(m, new JsonObject().put("x", 1))).isInstanceOf(CatalogException.class)
        .hasMessage("x@1.0.0: its params schema cannot be used: its references ($ref) loop or nest too deep");
  }
}

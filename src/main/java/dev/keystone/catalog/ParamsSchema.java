package dev.keystone.catalog;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.Draft;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.JsonSchemaOptions;
import io.vertx.json.schema.OutputFormat;
import io.vertx.json.schema.OutputUnit;
import io.vertx.json.schema.SchemaException;
import io.vertx.json.schema.Validator;

import java.util.ArrayList;
import java.util.List;

/**
 * A tenant's parameters for a catalog script, checked against the entry's JSON Schema (draft
 * 2020-12) when the config loads: a missing required parameter, a wrong type or a value out of
 * range rejects the config, naming the parameter. The schema's top-level {@code default}s fill in
 * what the tenant leaves out, so the script sees every parameter it documents.
 */
public final class ParamsSchema {

  /** What a script may be given: the engine protocol's bounds for {@code params}. */
  public static final int MAX_BYTES = 64 * 1024;
  public static final int MAX_DEPTH = 16;

  /** A message that only says a nested check failed. */
  private static final java.util.regex.Pattern WRAPPER =
      java.util.regex.Pattern.compile("Property \".*\" does not match (additional properties )?schema");

  private ParamsSchema() {
  }

  /** {@code params} with the schema's defaults added; a CatalogException lists every problem. */
  public static JsonObject check(Manifest m, JsonObject params) throws CatalogException {
    JsonObject p = params == null ? new JsonObject() : params.copy();
    if (depth(p, 0) > MAX_DEPTH) {
      throw new CatalogException("params: nested deeper than " + MAX_DEPTH + " levels");
    }
    if (p.encode().getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_BYTES) {
      throw new CatalogException("params: more than " + MAX_BYTES + " bytes of JSON");
    }
    JsonObject schema = m.params();
    if (schema.getValue("properties") instanceof JsonObject props) {
      for (String k : props.fieldNames()) {
        if (!p.containsKey(k) && props.getValue(k) instanceof JsonObject prop && prop.containsKey("default")) {
          p.put(k, prop.getValue("default"));
        }
      }
    }
    String slow = SchemaPatterns.tooSlow(schema, p);
    if (slow != null) {
      throw new CatalogException(m.id() + ": its params schema cannot be used: " + slow);
    }
    OutputUnit out;
    try {
      Validator v = Validator.create(JsonSchema.of(schema), new JsonSchemaOptions().setDraft(Draft.DRAFT202012)
          .setBaseUri("urn:keystone:catalog:" + m.id()).setOutputFormat(OutputFormat.Basic));
      out = v.validate(p);
    } catch (SchemaException | IllegalArgumentException e) {
      throw new CatalogException(m.id() + ": its params schema cannot be used: " + e.getMessage());
    } catch (StackOverflowError e) {
      // a $ref cycle (a -> b -> a) the validator follows without end; bounded by the stack, caught here
      throw new CatalogException(m.id() + ": its params schema cannot be used: its references ($ref) loop or nest too deep");
    }
    if (Boolean.TRUE.equals(out.getValid())) {
      return p;
    }
    throw new CatalogException(String.join("; ", problems(m, out)));
  }

  /**
   * What is wrong, per top-level parameter. Only the parameter's own name is shown, never a key or
   * value below it: {@code keys: {"sk-live-...": ""}} must not put an API key into a reload's
   * answer, the log and the events the dashboard shows. The validator reports each failure once per
   * schema level ("Property x does not match schema" above "String is too short"): the innermost
   * messages are kept, and the wrappers (which quote nested keys) never shown.
   */
  private static List<String> problems(Manifest m, OutputUnit out) {
    java.util.Map<String, java.util.Set<String>> byParam = new java.util.LinkedHashMap<>();
    java.util.Set<String> unknown = new java.util.TreeSet<>();
    if (out.getErrors() != null) {
      for (OutputUnit e : out.getErrors()) {
        String at = e.getInstanceLocation() == null ? "" : e.getInstanceLocation().replaceFirst("^#", "");
        String[] parts = at.split("/");
        String top = parts.length > 1 ? parts[1].replace("~1", "/").replace("~0", "~") : "";
        String message = String.valueOf(e.getError());
        java.util.Set<String> messages = byParam.computeIfAbsent(top, k -> new java.util.LinkedHashSet<>());
        if (!WRAPPER.matcher(message).matches()) {
          messages.add(message);
        } else if (parts.length == 2 && message.contains("additional properties")) {
          unknown.add(top);
        }
      }
    }
    java.util.Set<String> known = m.params().getValue("properties") instanceof JsonObject props ? props.fieldNames()
        : java.util.Set.of();
    List<String> problems = new ArrayList<>();
    byParam.forEach((top, messages) -> {
      if (!messages.isEmpty()) {
        String where = top.isEmpty() ? "params" : known.contains(top) ? "params." + top : "params";
        messages.forEach(x -> problems.add(where + ": " + x));
      } else if (unknown.contains(top)) {
        // a top-level key is meant as a parameter's name (a typo, usually): named, so it can be fixed
        problems.add("params." + top + ": not a parameter of " + m.id() + " (its schema allows no other keys)");
      } else if (!top.isEmpty()) {
        problems.add((known.contains(top) ? "params." + top : "params") + ": does not match the schema of " + m.id());
      }
    });
    if (problems.isEmpty()) {
      problems.add("params: do not match the schema of " + m.id());
    }
    return problems.stream().distinct().toList();
  }

  static int depth(Object v, int d) {
    int max = d;
    if (v instanceof JsonObject o) {
      for (String k : o.fieldNames()) {
        max = Math.max(max, depth(o.getValue(k), d + 1));
      }
      return Math.max(max, d + 1);
    }
    if (v instanceof JsonArray a) {
      for (Object x : a) {
        max = Math.max(max, depth(x, d + 1));
      }
      return Math.max(max, d + 1);
    }
    return max;
  }
}

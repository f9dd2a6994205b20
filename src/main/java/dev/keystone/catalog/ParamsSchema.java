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
    if (p.encode().length() > MAX_BYTES) {
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
    OutputUnit out;
    try {
      Validator v = Validator.create(JsonSchema.of(schema), new JsonSchemaOptions().setDraft(Draft.DRAFT202012)
          .setBaseUri("urn:keystone:catalog:" + m.id()).setOutputFormat(OutputFormat.Basic));
      out = v.validate(p);
    } catch (SchemaException | IllegalArgumentException e) {
      throw new CatalogException(m.id() + ": its params schema cannot be used: " + e.getMessage());
    }
    if (Boolean.TRUE.equals(out.getValid())) {
      return p;
    }
    // The validator reports each failure once per schema level ("Property x does not match
    // schema" above "0 is less than 1"): keep the innermost message of each parameter.
    java.util.Map<String, List<String>> byPlace = new java.util.LinkedHashMap<>();
    if (out.getErrors() != null) {
      for (OutputUnit e : out.getErrors()) {
        String at = e.getInstanceLocation() == null ? "" : e.getInstanceLocation().replaceFirst("^#", "");
        byPlace.computeIfAbsent("params" + at.replace('/', '.'), k -> new ArrayList<>()).add(String.valueOf(e.getError()));
      }
    }
    List<String> problems = new ArrayList<>();
    byPlace.forEach((at, messages) -> {
      List<String> specific = messages.stream().filter(x -> !WRAPPER.matcher(x).matches()).distinct().toList();
      if (!specific.isEmpty()) {
        specific.forEach(x -> problems.add(at + ": " + x));
      } else if (messages.stream().anyMatch(x -> x.contains("additional properties"))) {
        problems.add(at + ": not a parameter of " + m.id() + " (its schema allows no other keys)");
      } else {
        problems.add(at + ": " + messages.get(0));
      }
    });
    if (problems.isEmpty()) {
      problems.add("params: do not match the schema of " + m.id());
    }
    throw new CatalogException(String.join("; ", problems.stream().distinct().toList()));
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

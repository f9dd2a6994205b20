package dev.keystone.admin;

import dev.keystone.model.ApiKey;
import dev.keystone.policy.ApiKeyCodec;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * API keys through the admin API: {@code GET /api/v1/keys} lists them (names, tenants, scopes,
 * times; never a key or its hash), {@code POST /api/v1/keys} makes one and answers it once,
 * {@code DELETE /api/v1/keys/NAME} revokes one. They are written where the gateway reads them: the
 * cluster's store, or the config's {@code api_keys_file}.
 */
final class KeyEndpoints {

  private static final int MAX_BODY = 16 * 1024;

  private final GatewayControl gateway;

  KeyEndpoints(GatewayControl gateway) {
    this.gateway = gateway;
  }

  void routes(Router r) {
    r.get("/api/v1/keys").handler(this::list);
    r.post("/api/v1/keys").handler(BodyHandler.create(false).setBodyLimit(MAX_BODY)).handler(this::create);
    r.delete("/api/v1/keys/:name").handler(this::revoke);
  }

  private void list(RoutingContext ctx) {
    JsonArray keys = new JsonArray();
    gateway.apiKeyList().stream().sorted(java.util.Comparator.comparing(ApiKey::name)).forEach(k -> keys.add(view(k)));
    AdminServer.json(ctx, 200, new JsonObject().put("keys", keys));
  }

  static JsonObject view(ApiKey k) {
    return new JsonObject().put("name", k.name()).put("tenants", new JsonArray(k.tenants().stream().sorted().toList()))
        .put("scopes", new JsonArray(k.scopes().stream().sorted().toList())).put("created_at", k.created().toString())
        .put("expires_at", k.expires() == null ? null : k.expires().toString());
  }

  private void create(RoutingContext ctx) {
    JsonObject body;
    try {
      body = new JsonObject(ctx.body().asString() == null ? "{}" : ctx.body().asString());
    } catch (RuntimeException e) {
      AdminServer.json(ctx, 400, new JsonObject().put("error", "the body must be a JSON object: {name, tenants, scopes, expires_in}"));
      return;
    }
    String name = body.getValue("name") instanceof String s ? s : "";
    if (!ApiKeyCodec.NAME.matcher(name).matches()) {
      AdminServer.json(ctx, 400, new JsonObject().put("error", "name: 1-64 letters, digits, '.', '_' or '-'"));
      return;
    }
    Set<String> tenants = strings(body, "tenants");
    Set<String> scopes = strings(body, "scopes");
    if (tenants == null || tenants.isEmpty() || tenants.stream().anyMatch(t -> t.chars().anyMatch(Character::isISOControl))
        || scopes == null || !scopes.stream().allMatch(ApiKeyCodec::validScope)) {
      AdminServer.json(ctx, 400, new JsonObject().put("error", "tenants: a list of tenant names (or [\"*\"]); scopes: a list"
          + " of scopes such as orders:read"));
      return;
    }
    Instant expires;
    try {
      expires = body.getValue("expires_in") == null ? null
          : gateway.clock().instant().plus(positive(dev.keystone.config.Units.duration(body.getValue("expires_in").toString())));
    } catch (IllegalArgumentException e) {
      AdminServer.json(ctx, 400, new JsonObject().put("error", "expires_in: a duration such as 90d, at most 3653d"));
      return;
    }
    String key = ApiKeyCodec.newKey();
    ApiKey made = new ApiKey(name, ApiKeyCodec.sha256(key), tenants, scopes, gateway.clock().instant(), expires);
    gateway.addApiKey(made).onComplete(ar -> {
      if (ar.failed()) {
        AdminServer.json(ctx, 503, new JsonObject().put("error", String.valueOf(ar.cause().getMessage() != null
            ? ar.cause().getMessage() : ar.cause())));
      } else if (ar.result() != null) {
        AdminServer.json(ctx, 409, new JsonObject().put("error", ar.result()));
      } else {
        AdminServer.json(ctx, 201, view(made).put("key", key).put("note", "the key is shown only now: keep it"));
      }
    });
  }

  private static Duration positive(Duration d) {
    if (d.isNegative() || d.isZero() || d.compareTo(ApiKeyCodec.MAX_LIFETIME) > 0) {
      throw new IllegalArgumentException("not positive");
    }
    return d;
  }

  private void revoke(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    gateway.revokeApiKey(name).onComplete(ar -> {
      if (ar.failed()) {
        AdminServer.json(ctx, 503, new JsonObject().put("error", String.valueOf(ar.cause().getMessage() != null
            ? ar.cause().getMessage() : ar.cause())));
      } else if (!ar.result()) {
        AdminServer.json(ctx, 404, new JsonObject().put("error", "no key named '" + name + "'"));
      } else {
        AdminServer.json(ctx, 200, new JsonObject().put("revoked", name));
      }
    });
  }

  private static Set<String> strings(JsonObject body, String field) {
    Object v = body.getValue(field, new JsonArray());
    if (!(v instanceof JsonArray a) || a.size() > 100) {
      return null;
    }
    Set<String> out = new LinkedHashSet<>();
    for (Object o : a) {
      if (!(o instanceof String s) || s.isEmpty() || s.length() > 256) {
        return null;
      }
      out.add(s);
    }
    return out;
  }
}

package dev.keystone.admin;

import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The dashboard's static files, read from the jar ({@code admin/dashboard/}) into memory on first
 * use. Served by hand rather than by a static handler: a handful of small files, no file-system
 * cache to write (the gateway may run on a read-only root).
 */
final class Dashboard {

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]*");
  private static final Map<String, String> TYPES = Map.of(
      "html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8",
      "svg", "image/svg+xml", "png", "image/png", "ico", "image/x-icon");
  private final Map<String, Buffer> cache = new ConcurrentHashMap<>();

  void serve(RoutingContext ctx) {
    String rest = ctx.request().path().substring("/dashboard/".length());
    String name = rest.isEmpty() ? "index.html" : rest;
    String ext = name.substring(name.lastIndexOf('.') + 1);
    Buffer body = NAME.matcher(name).matches() && !name.contains("..") && TYPES.containsKey(ext) ? load(name) : null;
    if (body == null) {
      AdminServer.json(ctx, 404, new io.vertx.core.json.JsonObject().put("error", "not found"));
      return;
    }
    ctx.response().putHeader("Content-Type", TYPES.get(ext)).end(body);
  }

  private Buffer load(String name) {
    Buffer b = cache.get(name);
    if (b != null) {
      return b;
    }
    try (InputStream in = Dashboard.class.getResourceAsStream("/admin/dashboard/" + name)) {
      if (in == null) {
        return null;
      }
      b = Buffer.buffer(in.readAllBytes());
      cache.put(name, b);
      return b;
    } catch (IOException e) {
      return null;
    }
  }
}

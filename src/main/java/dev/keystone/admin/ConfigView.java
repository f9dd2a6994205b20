package dev.keystone.admin;

import dev.keystone.config.GatewayConfig;
import dev.keystone.config.LuaEngineConfig;
import dev.keystone.config.ServiceConfig;
import dev.keystone.config.SupervisedEngine;
import dev.keystone.config.TenantConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;

/**
 * The running config as JSON, in the config file's own key names, with defaults filled in and
 * secrets replaced by {@value #REDACTED}: the admin token and passwords in URLs.
 */
final class ConfigView {

  static final String REDACTED = "(redacted)";

  private ConfigView() {
  }

  static JsonObject of(GatewayConfig c) {
    JsonObject out = new JsonObject()
        .put("source", c.source())
        .put("listen", c.listen().toString())
        .put("admin_base_path", c.adminBasePath())
        .put("admin", new JsonObject().put("enabled", c.admin().enabled()).put("listen", c.admin().listen().toString())
            .put("token", c.admin().token() == null ? null : REDACTED))
        .put("timeouts", new JsonObject()
            .put("connect", text(c.timeouts().connect())).put("response_header", text(c.timeouts().responseHeader()))
            .put("idle", text(c.timeouts().idle())).put("header_read", text(c.timeouts().headerRead()))
            .put("shutdown", text(c.timeouts().shutdown())))
        .put("limits", new JsonObject().put("max_header_size", c.limits().maxHeaderSize())
            .put("max_uri_length", c.limits().maxUriLength()).put("max_body_size", c.limits().maxBodySize())
            .put("body_buffer", c.limits().bodyBuffer()))
        .put("script_limits", new JsonObject().put("instructions", c.scriptLimits().instructions())
            .put("deadline", text(c.scriptLimits().deadline())).put("max_string", c.scriptLimits().maxString())
            .put("max_depth", c.scriptLimits().maxDepth()))
        .put("lua_engine", luaEngine(c.luaEngine()))
        .put("tls_listen", c.tls().enabled() ? c.tls().listen().toString() : null)
        .put("tls_default", certificate(c.tls().fallback()));
    JsonArray tenants = new JsonArray();
    c.tenants().forEach(t -> tenants.add(tenant(t)));
    return out.put("tenants", tenants);
  }

  private static JsonObject luaEngine(LuaEngineConfig e) {
    JsonObject j = new JsonObject().put("enabled", e.enabled())
        .put("url", new JsonArray(e.urls().stream().map(ConfigView::redactUrl).toList()))
        .put("timeout", text(e.timeout()));
    SupervisedEngine s = e.supervise();
    if (s != null) {
      j.put("supervise", new JsonObject().put("command", new JsonArray(s.command()))
          .put("scripts", s.scripts() == null ? null : s.scripts().toString())
          .put("sandbox", s.sandbox().name().toLowerCase(java.util.Locale.ROOT))
          .put("memory", s.memoryBytes()).put("cpus", s.cpus()).put("max_processes", s.maxProcesses()));
    }
    return j;
  }

  /** A certificate's files only: the key's content never leaves the gateway. */
  private static JsonObject certificate(dev.keystone.config.ServerCertificate c) {
    return c == null ? null : c.local() ? new JsonObject().put("local", true) : c.auto() ? new JsonObject().put("auto", true)
        : new JsonObject().put("cert", c.certFile().toString()).put("key", c.keyFile().toString());
  }

  private static JsonObject tenant(TenantConfig t) {
    JsonArray services = new JsonArray();
    for (ServiceConfig s : t.services()) {
      services.add(new JsonObject().put("name", s.name()).put("url", redactUrl(s.url())).put("health", s.health())
          .put("weight", s.weight()).put("standby", s.standby()).put("labels", new JsonObject(new LinkedHashMap<>(s.labels()))));
    }
    return new JsonObject().put("name", t.name()).put("domains", new JsonArray(t.domains()))
        .put("path_prefix", t.pathPrefix()).put("health_interval", text(t.healthInterval()))
        .put("strip_prefix", t.stripPrefix()).put("preserve_host", t.preserveHost())
        .put("lua_script", t.catalog() == null ? t.luaScript() : null)
        .put("script", t.catalog() == null ? null : new JsonObject().put("catalog", t.catalog().id())
            .put("sha256", t.catalog().sha256()).put("params", "(not shown: may hold secrets)"))
        .put("tls", certificate(t.tls())).put("https_redirect", t.httpsRedirect())
        .put("hsts", t.hsts() == null ? null : text(t.hsts()))
        .put("client_ca", t.clientAuth() == null ? null : t.clientAuth().caFile().toString())
        .put("client_auth", t.clientAuth() == null ? null : t.clientAuth().required() ? "required" : "optional")
        .put("script_engine", t.luaScript() == null ? null : t.script() != null ? "embedded" : "remote")
        .put("on_script_error", t.scriptFailOpen() ? "fail_open" : "fail_closed")
        .put("script_body", t.scriptBody()).put("services", services)
        .put("rate_limits", rateLimits(t.policies().rateLimits()))
        .put("api_key", t.policies().apiKey() == null ? null : new JsonObject().put("header", t.policies().apiKey().header())
            .put("required", t.policies().apiKey().required())
            .put("scopes", new JsonArray(t.policies().apiKey().scopes().stream().sorted().toList()))
            .put("forward_as", t.policies().apiKey().forwardAs()))
        .put("jwt", jwt(t.policies().jwt()));
  }

  private static JsonArray rateLimits(java.util.List<dev.keystone.model.RateLimitRule> rules) {
    JsonArray out = new JsonArray();
    for (dev.keystone.model.RateLimitRule r : rules) {
      out.add(new JsonObject().put("limit", r.limit()).put("window", text(r.window()))
          .put("key", r.key() == dev.keystone.model.RateLimitRule.Key.HEADER ? "header:" + r.header() : r.key().configName())
          .put("algorithm", r.algorithm().configName()).put("scope", r.cluster() ? "cluster" : "local")
          .put("on_store_failure", r.cluster() ? (r.failClosed() ? "deny" : "local") : null)
          .put("batch", r.cluster() ? r.batch() : null));
    }
    return out;
  }

  /** A tenant's jwt, its HMAC secret never shown. */
  private static JsonObject jwt(dev.keystone.model.JwtRule j) {
    return j == null ? null : new JsonObject().put("issuer", j.issuer()).put("audiences", new JsonArray(j.audiences()))
        .put("algorithms", new JsonArray(j.algorithms())).put("jwks_url", j.jwksUrl())
        .put("jwks_file", j.jwksJson() == null ? null : "(public keys given in a file)")
        .put("secret", j.secret() == null ? null : REDACTED).put("clock_skew", text(j.clockSkew()))
        .put("header", j.header()).put("required", j.required())
        .put("forward_claims", new JsonObject(new LinkedHashMap<>(j.forwardClaims())));
  }

  /** {@code http://user:secret@host/} becomes {@code http://user:(redacted)@host/}. */
  static String redactUrl(String url) {
    try {
      URI u = URI.create(url);
      String info = u.getRawUserInfo();
      if (info == null) {
        return url;
      }
      int colon = info.indexOf(':');
      String user = colon < 0 ? info : info.substring(0, colon);
      return url.replace(info + "@", user + ":" + REDACTED + "@");
    } catch (IllegalArgumentException e) {
      return url.contains("@") ? REDACTED : url;
    }
  }

  private static String text(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
  }
}

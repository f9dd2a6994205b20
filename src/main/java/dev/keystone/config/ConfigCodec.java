package dev.keystone.config;

import dev.keystone.model.CatalogScript;

import dev.keystone.model.EscapedSlashes;
import dev.keystone.model.Limits;
import dev.keystone.model.PassiveHealth;
import dev.keystone.model.Timeouts;
import dev.keystone.model.UpstreamTls;
import dev.keystone.script.LuaScript;
import dev.keystone.script.ScriptLimits;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link GatewayConfig} as bytes, for {@link ConfigCache}. Every record is written field by
 * field and read back through its canonical constructor, so a field added to a config record does
 * not compile until it is added here, and {@code ConfigCodecTest} round-trips every example config
 * and one that sets every key. Strings are written once each (a 10,000-tenant config repeats its
 * URLs and health paths), which also shares them in the decoded config. Scripts are written by
 * name and file and compiled again when read, from the bytes {@link ConfigInputs} checked.
 */
final class ConfigCodec {

  private ConfigCodec() {
  }

  /** About how many bytes the config's strings take encoded (a bound: three per char). */
  static long textSize(GatewayConfig c) {
    long n = 0;
    for (TenantConfig t : c.tenants()) {
      n += 64 + len(t.name()) + len(t.pathPrefix()) + len(t.luaScript()) + len(t.isolationGroup()) + pemSize(t.tls());
      for (String d : t.domains()) {
        n += 8 + len(d);
      }
      for (ServiceConfig s : t.services()) {
        n += 32 + len(s.name()) + len(s.url()) + len(s.health()) + len(s.tls().serverName());
        for (Map.Entry<String, String> l : s.labels().entrySet()) {
          n += 8 + len(l.getKey()) + len(l.getValue());
        }
      }
    }
    return n + 3L * (len(c.admin().token()) + len(c.adminBasePath())) + pemSize(c.tls().fallback());
  }

  private static long pemSize(ServerCertificate c) {
    return c == null || c.auto() ? 0
        : len(c.certPem()) + len(c.keyPem()) + len(c.certFile().toString()) + len(c.keyFile().toString());
  }

  private static long len(String s) {
    return s == null ? 0 : 3L * s.length();
  }

  static byte[] encode(GatewayConfig c) {
    CodecStreams.Out out = new CodecStreams.Out();
    out.string(c.source());
    listen(out, c.listen());
    out.string(c.adminBasePath());
    timeouts(out, c.timeouts());
    Limits l = c.limits();
    out.integer(l.maxHeaderSize()).integer(l.maxUriLength()).number(l.maxBodySize()).integer(l.upstreamConnections())
        .integer(l.bodyBuffer());
    engine(out, c.luaEngine());
    ScriptLimits s = c.scriptLimits();
    out.number(s.instructions()).duration(s.deadline()).integer(s.maxString()).integer(s.maxDepth()).number(s.maxMemory())
        .number(s.maxState()).duration(s.timePerSecond());
    out.integer(c.tenants().size());
    for (TenantConfig t : c.tenants()) {
      tenant(out, t);
    }
    AdminConfig a = c.admin();
    out.bool(a.enabled());
    listen(out, a.listen());
    out.bool(a.explicit()).string(a.token());
    out.integer(c.passiveHealth().consecutiveFailures()).duration(c.passiveHealth().ejection());
    out.integer(c.escapedSlashes().ordinal());
    out.bool(c.tls().listen() != null);
    if (c.tls().listen() != null) {
      listen(out, c.tls().listen());
    }
    certificate(out, c.tls().fallback());
    AcmeConfig acme = c.tls().acme();
    out.bool(acme != null);
    if (acme != null) {
      out.string(acme.directory()).string(acme.email()).string(acme.caRoot()).string(acme.dataDir().toString())
          .string(String.join(",", acme.challenges()));
    }
    out.string(c.stateStore());
    out.bool(c.apiKeys() != null);
    if (c.apiKeys() != null) {
      out.string(c.apiKeys().file().toString()).string(c.apiKeys().content());
    }
    return out.finish();
  }

  /** Reads what {@link #encode} wrote; {@code files} holds the checked content of script files by path. */
  static GatewayConfig decode(byte[] bytes, Map<String, byte[]> files) throws LuaScript.SyntaxError {
    return decode(new ConfigBytes.Reader(bytes), files);
  }

  /** Reads a config that takes all that is left in {@code r}. */
  static GatewayConfig decode(ConfigBytes.Reader r, Map<String, byte[]> files) throws LuaScript.SyntaxError {
    CodecStreams.In in = new CodecStreams.In(r, files);
    String source = in.string();
    ListenAddress listen = listen(in);
    String adminBasePath = in.string();
    Timeouts timeouts = timeouts(in);
    Limits limits = new Limits(in.integer(), in.integer(), in.number(), in.integer(), in.integer());
    LuaEngineConfig engine = engine(in);
    ScriptLimits scriptLimits = new ScriptLimits(in.number(), in.duration(), in.integer(), in.integer(), in.number(),
        in.number(), in.duration());
    int n = in.integer();
    List<TenantConfig> tenants = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      tenants.add(tenant(in));
    }
    AdminConfig admin = new AdminConfig(in.bool(), listen(in), in.bool(), in.string());
    PassiveHealth passive = new PassiveHealth(in.integer(), in.duration());
    EscapedSlashes slashes = EscapedSlashes.values()[in.integer()];
    ListenAddress tlsListen = in.bool() ? listen(in) : null;
    ServerCertificate fallback = certificate(in);
    AcmeConfig acme = in.bool() ? new AcmeConfig(in.string(), in.string(), in.string(), Path.of(in.string()),
        List.of(in.string().split(","))) : null;
    String stateStore = in.string();
    ApiKeysFile apiKeys = null;
    if (in.bool()) {
      Path keysFile = Path.of(in.string());
      String content = in.string();
      apiKeys = new ApiKeysFile(keysFile, content, ApiKeysBinder.table(content)); // checked when it was parsed
    }
    in.end();
    return new GatewayConfig(source, listen, adminBasePath, timeouts, limits, engine, scriptLimits, tenants, admin, passive,
        slashes, tlsListen == null ? ServerTls.NONE : new ServerTls(tlsListen, fallback, acme), stateStore, apiKeys);
  }

  private static void tenant(CodecStreams.Out out, TenantConfig t) {
    out.string(t.name()).strings(t.domains()).string(t.pathPrefix()).duration(t.healthInterval())
        .number(t.rawHealthInterval()).bool(t.stripPrefix()).bool(t.preserveHost()).string(t.luaScript());
    out.script(t.script());
    out.bool(t.scriptFailOpen()).number(t.scriptBody()).bool(t.scriptShadow());
    out.integer(t.services().size());
    for (ServiceConfig s : t.services()) {
      out.string(s.name()).string(s.url()).string(s.health()).integer(s.weight()).bool(s.standby());
      out.integer(s.labels().size());
      s.labels().forEach((k, v) -> out.string(k).string(v));
      out.bool(s.tls().verify()).string(s.tls().caFile() == null ? null : s.tls().caFile().toString())
          .string(s.tls().serverName());
    }
    out.integer(t.escapedSlashes() == null ? -1 : t.escapedSlashes().ordinal());
    out.string(t.isolationGroup());
    out.bool(t.ownEngine() != null);
    if (t.ownEngine() != null) {
      engine(out, t.ownEngine());
    }
    certificate(out, t.tls());
    out.bool(t.httpsRedirect()).duration(t.hsts());
    out.bool(t.clientAuth() != null);
    if (t.clientAuth() != null) {
      out.string(t.clientAuth().caFile().toString()).string(t.clientAuth().caPem()).bool(t.clientAuth().required());
    }
    out.string(t.mirror() == null ? null : t.mirror().backend()).integer(t.mirror() == null ? 0 : t.mirror().percent());
    CatalogScript c = t.catalog();
    out.bool(c != null);
    if (c != null) {
      out.string(c.name()).string(c.version()).string(c.sha256()).bool(c.signed()).string(c.params()).string(c.language())
          .string(c.file()).string(c.fileSha256());
    }
    out.integer(t.policies().rateLimits().size());
    for (dev.keystone.model.RateLimitRule r : t.policies().rateLimits()) {
      out.integer(r.key().ordinal()).string(r.header()).number(r.limit()).duration(r.window()).integer(r.algorithm().ordinal())
          .bool(r.cluster()).bool(r.failClosed()).number(r.batch());
    }
    dev.keystone.model.ApiKeyRule k = t.policies().apiKey();
    out.bool(k != null);
    if (k != null) {
      out.string(k.header()).bool(k.required()).string(String.join(" ", k.scopes().stream().sorted().toList())).string(k.forwardAs());
    }
    dev.keystone.model.JwtRule j = t.policies().jwt();
    out.bool(j != null);
    if (j != null) {
      out.string(j.issuer()).string(String.join("\n", j.audiences())).string(String.join(" ", j.algorithms()))
          .string(j.jwksUrl()).string(j.jwksJson()).string(j.secret()).duration(j.clockSkew()).duration(j.refresh())
          .string(j.header()).bool(j.required()).integer(j.forwardClaims().size());
      j.forwardClaims().forEach((claim, header) -> out.string(claim).string(header));
    }
  }

  private static void certificate(CodecStreams.Out out, ServerCertificate c) {
    out.integer(c == null ? 0 : c.local() ? 3 : c.auto() ? 2 : 1);
    if (c != null && !c.auto()) {
      out.string(c.certFile().toString()).string(c.keyFile().toString()).string(c.certPem()).string(c.keyPem());
    }
  }

  private static ServerCertificate certificate(CodecStreams.In in) {
    int kind = in.integer();
    return kind == 0 ? null : kind == 2 ? ServerCertificate.AUTO : kind == 3 ? ServerCertificate.LOCAL
        : new ServerCertificate(Path.of(in.string()), Path.of(in.string()), in.string(), in.string());
  }

  private static TenantConfig tenant(CodecStreams.In in) throws LuaScript.SyntaxError {
    String name = in.string();
    List<String> domains = in.strings();
    String prefix = in.string();
    Duration interval = in.duration();
    long raw = in.number();
    boolean strip = in.bool();
    boolean preserveHost = in.bool();
    String luaScript = in.string();
    LuaScript script = in.script();
    boolean failOpen = in.bool();
    long body = in.number();
    boolean shadow = in.bool();
    int n = in.integer();
    List<ServiceConfig> services = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      String sName = in.string();
      String url = in.string();
      String health = in.string();
      int weight = in.integer();
      boolean standby = in.bool();
      int labelCount = in.integer();
      Map<String, String> labels = new HashMap<>();
      for (int j = 0; j < labelCount; j++) {
        labels.put(in.string(), in.string());
      }
      boolean verify = in.bool();
      String ca = in.string();
      UpstreamTls tls = new UpstreamTls(verify, ca == null ? null : Path.of(ca), in.string());
      services.add(new ServiceConfig(sName, url, health, weight, labels, tls, standby));
    }
    int slashes = in.integer();
    String group = in.string();
    LuaEngineConfig own = in.bool() ? engine(in) : null;
    ServerCertificate tls = certificate(in);
    boolean redirect = in.bool();
    Duration hsts = in.duration();
    ClientAuth clientAuth = in.bool() ? new ClientAuth(Path.of(in.string()), in.string(), in.bool()) : null;
    String mirrorBackend = in.string();
    int mirrorPercent = in.integer();
    MirrorConfig mirror = mirrorBackend == null ? null : new MirrorConfig(mirrorBackend, mirrorPercent);
    CatalogScript catalog = in.bool()
        ? new CatalogScript(in.string(), in.string(), in.string(), in.bool(), in.string(), in.string(), in.string(), in.string())
        : null;
    int ruleCount = in.integer();
    List<dev.keystone.model.RateLimitRule> rules = new ArrayList<>(ruleCount);
    for (int i = 0; i < ruleCount; i++) {
      rules.add(new dev.keystone.model.RateLimitRule(dev.keystone.model.RateLimitRule.Key.values()[in.integer()], in.string(),
          in.number(), in.duration(), dev.keystone.model.RateLimitRule.Algorithm.values()[in.integer()], in.bool(), in.bool(),
          in.number()));
    }
    dev.keystone.model.ApiKeyRule apiKey = null;
    if (in.bool()) {
      String header = in.string();
      boolean required = in.bool();
      String scopes = in.string();
      apiKey = new dev.keystone.model.ApiKeyRule(header, required,
          scopes.isEmpty() ? java.util.Set.of() : java.util.Set.of(scopes.split(" ")), in.string());
    }
    dev.keystone.model.JwtRule jwt = null;
    if (in.bool()) {
      String issuer = in.string();
      List<String> audiences = List.of(in.string().split("\n"));
      List<String> algorithms = List.of(in.string().split(" "));
      String url = in.string();
      String jwks = in.string();
      String secret = in.string();
      Duration skew = in.duration();
      Duration refresh = in.duration();
      String header = in.string();
      boolean required = in.bool();
      int claims = in.integer();
      Map<String, String> forward = new java.util.LinkedHashMap<>();
      for (int i = 0; i < claims; i++) {
        forward.put(in.string(), in.string());
      }
      jwt = new dev.keystone.model.JwtRule(issuer, audiences, algorithms, url, jwks, secret, skew, refresh, header, required, forward);
    }
    return new TenantConfig(name, domains, prefix, interval, raw, strip, preserveHost, luaScript, script, failOpen, body,
        shadow, services, slashes < 0 ? null : EscapedSlashes.values()[slashes], group, own, tls, redirect, hsts, clientAuth, mirror,
        catalog, rules.isEmpty() && apiKey == null && jwt == null ? null
            : new dev.keystone.model.TenantPolicies(rules, apiKey, jwt));
  }

  private static void listen(CodecStreams.Out out, ListenAddress a) {
    out.string(a.host()).integer(a.port());
  }

  private static ListenAddress listen(CodecStreams.In in) {
    return new ListenAddress(in.string(), in.integer());
  }

  private static void timeouts(CodecStreams.Out out, Timeouts t) {
    out.duration(t.connect()).duration(t.responseHeader()).duration(t.idle()).duration(t.headerRead())
        .duration(t.shutdown()).duration(t.poolWait()).duration(t.shutdownDelay());
  }

  private static Timeouts timeouts(CodecStreams.In in) {
    return new Timeouts(in.duration(), in.duration(), in.duration(), in.duration(), in.duration(), in.duration(),
        in.duration());
  }

  private static void engine(CodecStreams.Out out, LuaEngineConfig e) {
    out.bool(e.enabled()).strings(e.urls()).duration(e.timeout());
    SupervisedEngine s = e.supervise();
    out.bool(s != null);
    if (s != null) {
      out.strings(s.command()).string(s.scripts() == null ? null : s.scripts().toString()).integer(s.sandbox().ordinal())
          .number(s.memoryBytes()).integer(s.cpus()).integer(s.maxProcesses());
    }
  }

  private static LuaEngineConfig engine(CodecStreams.In in) {
    boolean enabled = in.bool();
    List<String> urls = in.strings();
    Duration timeout = in.duration();
    SupervisedEngine s = null;
    if (in.bool()) {
      List<String> command = in.strings();
      String scripts = in.string();
      s = new SupervisedEngine(command, scripts == null ? null : Path.of(scripts),
          SupervisedEngine.Sandbox.values()[in.integer()], in.number(), in.integer(), in.integer());
    }
    return new LuaEngineConfig(enabled, urls, timeout, s);
  }
}

package dev.keystone.config;

import dev.keystone.model.PassiveHealth;
import dev.keystone.model.UpstreamTls;
import dev.keystone.model.Timeouts;
import dev.keystone.model.Limits;
import dev.keystone.model.EscapedSlashes;


import dev.keystone.script.LuaScript;
import dev.keystone.script.ScriptLimits;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Loads a configuration file: YAML with line numbers, then binding to immutable records, then
 * {@link ConfigValidator}. Every error of every stage is reported together, each with file, line
 * and key. The original Go format loads unchanged; the extensions use the same snake_case style.
 */
public final class ConfigLoader {

  public static final Duration DEFAULT_HEALTH_INTERVAL = Duration.ofSeconds(10);
  public static final String DEFAULT_LISTEN = ":8080";

  private final Function<String, String> env;
  private final ConfigCache cache;

  /** A loader reading {@code ${VAR}} values from the process environment. */
  public ConfigLoader() {
    this(System::getenv);
  }

  /** A loader reading {@code ${VAR}} values from {@code env} (tests, the embedded default). */
  public ConfigLoader(Function<String, String> env) {
    this(env, null);
  }

  private ConfigLoader(Function<String, String> env, ConfigCache cache) {
    this.env = env;
    this.cache = cache;
  }

  /**
   * This loader, reusing a config parsed before from the same file when {@code cache} holds one
   * whose inputs are all unchanged, and storing what it parses in it ({@link ConfigCache}).
   */
  public ConfigLoader withCache(ConfigCache cache) {
    return new ConfigLoader(env, cache);
  }

  public GatewayConfig load(Path file) throws ConfigException {
    return parseFile(readFile(file), file);
  }

  /**
   * What a config read besides its own text: the environment variables and the files (scripts,
   * certificates, a keys file...), as "environment variable NAME" and "file PATH". A config pushed
   * to a cluster's store is read on every instance: each must have them the same.
   */
  public java.util.List<String> inputsOf(Path file) throws ConfigException {
    ConfigInputs inputs = new ConfigInputs(env);
    parse(ConfigText.decode(readFile(file), file), file.toString(), inputs);
    java.util.Set<String> out = new java.util.LinkedHashSet<>();
    for (ConfigInputs.Input i : inputs.inputs()) {
      if (i.kind() == ConfigInputs.Kind.ENV) {
        out.add("environment variable " + i.name());
      } else if (i.kind() == ConfigInputs.Kind.CONTENT) {
        out.add("file " + i.name());
      }
    }
    return java.util.List.copyOf(out);
  }

  /** The file's bytes, or a ConfigException naming it (also when it is above {@link #maxFileSize()}). */
  public static byte[] readFile(Path file) throws ConfigException {
    return ConfigText.read(file);
  }

  /** The largest config file read: a sixteenth of the heap. */
  public static long maxFileSize() {
    return ConfigText.maxFile();
  }

  /** Parses {@code content}, read from {@code file}; through the cache when this loader has one. */
  public GatewayConfig parseFile(byte[] content, Path file) throws ConfigException {
    if (cache == null) {
      return parse(ConfigText.decode(content, file), file.toString());
    }
    GatewayConfig cached = cache.lookup(file, content, env);
    if (cached != null) {
      return cached;
    }
    ConfigInputs inputs = new ConfigInputs(env);
    GatewayConfig config = parse(ConfigText.decode(content, file), file.toString(), inputs);
    cache.store(file, content, inputs.inputs(), config);
    return config;
  }

  /** Tests read every config with both YAML readers and fail where they differ. */
  private static final boolean CROSS_CHECK = Boolean.getBoolean("keystone.yaml.crosscheck");

  public GatewayConfig parse(String yaml, String sourceName) throws ConfigException {
    return parse(yaml, sourceName, new ConfigInputs(env));
  }

  private GatewayConfig parse(String yaml, String sourceName, ConfigInputs inputs) throws ConfigException {
    Problems problems = new Problems(sourceName, inputs);
    // The fast reader for the YAML configs are written in; anything else (and every error) goes
    // to the full parser.
    YamlNode root = YamlSubset.read(yaml);
    if (root == null) {
      root = new YamlReader(sourceName, problems.errors).read(yaml);
    } else if (CROSS_CHECK) {
      YamlNode full = new YamlReader(sourceName, new java.util.ArrayList<>()).read(yaml);
      if (!YamlSubset.sameTree(root, full)) {
        throw new IllegalStateException("the fast YAML reader read " + sourceName + " differently: " + root + " / " + full);
      }
    }
    if (root == null) {
      throw new ConfigException(problems.errors);
    }
    if (!(root instanceof YamlNode.Mapping mapping)) {
      if (root instanceof YamlNode.Null) {
        problems.add(1, "", "the file is empty: it needs at least a 'tenants:' list");
      } else {
        problems.add(root.line(), "", "expected a mapping with a 'tenants:' list at the top, got " + root.kind());
      }
      throw new ConfigException(problems.errors);
    }
    problems.root(mapping);
    GatewayConfig config = bind(new Section(mapping, "", problems, new Interpolator(inputs::env)), sourceName, problems);
    new ConfigValidator(problems).validate(config);
    if (!problems.errors.isEmpty()) {
      problems.errors.sort((a, b) -> Integer.compare(a.line(), b.line()));
      throw new ConfigException(problems.errors);
    }
    return config;
  }

  private GatewayConfig bind(Section root, String source, Problems problems) {
    ListenAddress listen = root.parsed("listen", ListenAddress.parse(DEFAULT_LISTEN), "an address", ListenAddress::parse);
    String adminBasePath = root.string("admin_base_path", "");
    Timeouts timeouts = bindTimeouts(root.section("timeouts"));
    Limits limits = bindLimits(root.section("limits"), problems);
    String scriptsDir = root.string("scripts_dir", "scripts");
    ScriptFiles scripts = new ScriptFiles(source, scriptsDir, problems);
    LuaEngineConfig lua = LuaEngineBinder.bind(root.section("lua_engine"), source, scripts);
    if (!root.has("tenants")) {
      problems.add(root.line(), "tenants", "missing: the config needs a 'tenants:' list");
    }
    ScriptLimits scriptLimits = bindScriptLimits(root.section("script_limits"));
    AdminConfig admin = AdminConfig.bind(root.section("admin"));
    PassiveHealth passive = PassiveHealthBinder.passiveHealth(root.section("passive_health"));
    EscapedSlashes slashes = root.parsed("escaped_slashes", EscapedSlashes.REJECT, "reject or pass", EscapedSlashes::parse);
    // A supervised built-in engine reads a directory the gateway can see: compile its scripts
    // here too, so a missing script or a syntax error rejects the config like an embedded one.
    // Another engine's scripts are only looked for (the engine compiles them, at reload).
    SupervisedEngine sup = lua.supervise();
    ScriptFiles engineScripts = sup == null || sup.scripts() == null ? null
        : sup.builtIn() ? new ScriptFiles(source, sup.scripts().toString(), problems)
        : ScriptFiles.presenceOnly(source, sup.scripts().toString(), problems);
    String stateStore = StateStoreBinder.bind(root, problems);
    ApiKeysFile apiKeys = ApiKeysBinder.file(root, source, problems);
    List<TenantConfig> tenants = new ArrayList<>();
    for (Section t : root.sections("tenants")) {
      tenants.add(bindTenant(t, problems, scripts, lua.enabled(), sup != null, engineScripts, slashes, source, stateStore != null));
    }
    ServerTlsBinder.sharedNames(tenants, problems);
    // a tls key, valid or not: a broken one is reported where it is, not as "no certificate" too
    List<YamlNode> items = root.raw("tenants") instanceof YamlNode.Sequence seq ? seq.items() : List.of();
    boolean anyTls = items.stream().anyMatch(t -> t instanceof YamlNode.Mapping m && m.entries().containsKey("tls"));
    boolean anyAuto = items.stream().anyMatch(t -> t instanceof YamlNode.Mapping m
        && m.entries().get("tls") instanceof YamlNode.Scalar s && (s.text().equals("auto") || s.text().equals("local")));
    ServerTls tls = ServerTlsBinder.listener(root, anyTls, anyAuto, source);
    root.finish();
    return new GatewayConfig(source, listen, adminBasePath, timeouts, limits, lua, scriptLimits, tenants, admin, passive,
        slashes, tls, stateStore, apiKeys);
  }

  private static ScriptLimits bindScriptLimits(Section s) {
    ScriptLimits d = ScriptLimits.DEFAULT;
    if (s == null) {
      return d;
    }
    long instructions = s.integer("instructions", d.instructions());
    Duration deadline = s.duration("deadline", d.deadline());
    long maxString = s.size("max_string", d.maxString());
    long maxDepth = s.integer("max_depth", d.maxDepth());
    long maxMemory = s.size("max_memory", d.maxMemory());
    long maxState = s.size("max_state", d.maxState());
    Duration timePerSecond = s.duration("time_per_second", d.timePerSecond());
    if (instructions < 1_000 || instructions > 100_000_000) {
      s.problems().add(s.keyPath("instructions"), "must be between 1000 and 100000000");
      instructions = d.instructions();
    }
    if (deadline.toMillis() < 1 || deadline.toMillis() > 10_000) {
      s.problems().add(s.keyPath("deadline"), "must be between 1ms and 10s");
      deadline = d.deadline();
    }
    if (maxString < 1024 || maxString > 64L * 1024 * 1024) {
      s.problems().add(s.keyPath("max_string"), "must be between 1KiB and 64MiB");
      maxString = d.maxString();
    }
    if (maxDepth < 10 || maxDepth > 180) {
      // deeper Lua recursion would overflow the event loop's Java stack (-Xss512k) first
      s.problems().add(s.keyPath("max_depth"), "must be between 10 and 180");
      maxDepth = d.maxDepth();
    }
    if (maxMemory < 1L << 20 || maxMemory > 1L << 30) {
      s.problems().add(s.keyPath("max_memory"), "must be between 1MiB and 1GiB");
      maxMemory = d.maxMemory();
    } else if (maxMemory < maxString) {
      s.problems().add(s.keyPath("max_memory"), "must be at least max_string (" + maxString + " bytes)");
      maxMemory = Math.max(maxString, d.maxMemory());
    }
    if (maxState < 64L << 10 || maxState > 1L << 30) {
      s.problems().add(s.keyPath("max_state"), "must be between 64KiB and 1GiB");
      maxState = d.maxState();
    }
    if (timePerSecond.toMillis() < 10 || timePerSecond.toSeconds() > 1000) {
      s.problems().add(s.keyPath("time_per_second"), "must be between 10ms and 1000s");
      timePerSecond = d.timePerSecond();
    }
    s.finish();
    return new ScriptLimits(instructions, deadline, (int) maxString, (int) maxDepth, maxMemory, maxState, timePerSecond);
  }

  private static Timeouts bindTimeouts(Section s) {
    Timeouts d = Timeouts.DEFAULTS;
    if (s == null) {
      return d;
    }
    Timeouts t = new Timeouts(
        positive(s, "connect", d.connect()),
        positive(s, "response_header", d.responseHeader()),
        positive(s, "idle", d.idle()),
        positive(s, "header_read", d.headerRead()),
        s.duration("shutdown", d.shutdown()),
        positive(s, "pool_wait", d.poolWait()),
        s.duration("shutdown_delay", d.shutdownDelay()));
    s.finish();
    return t;
  }

  private static Duration positive(Section s, String key, Duration defaultValue) {
    Duration d = s.duration(key, defaultValue);
    if (d.toMillis() < 1) {
      s.problems().add(s.keyPath(key), "must be at least 1ms");
      return defaultValue;
    }
    return d;
  }

  private static Limits bindLimits(Section s, Problems problems) {
    Limits d = Limits.DEFAULTS;
    if (s == null) {
      return d;
    }
    long header = s.size("max_header_size", d.maxHeaderSize());
    long uri = s.size("max_uri_length", d.maxUriLength());
    long body = s.size("max_body_size", d.maxBodySize());
    long upstream = s.integer("upstream_connections", d.upstreamConnections());
    long buffer = s.size("body_buffer", d.bodyBuffer());
    if (buffer < 0 || buffer > Limits.MAX_BODY_BUFFER) {
      problems.add(s.keyPath("body_buffer"), "must be between 0 and 1MiB");
      buffer = d.bodyBuffer();
    }
    if (upstream < 1 || upstream > 100_000) {
      problems.add(s.keyPath("upstream_connections"), "must be between 1 and 100000");
      upstream = d.upstreamConnections();
    }
    if (header < 1024 || header > 1024 * 1024) {
      problems.add(s.keyPath("max_header_size"), "must be between 1KiB and 1MiB");
    }
    if (uri < 256 || uri > 1024 * 1024) {
      problems.add(s.keyPath("max_uri_length"), "must be between 256 and 1MiB");
    }
    s.finish();
    return new Limits((int) Math.min(header, Integer.MAX_VALUE), (int) Math.min(uri, Integer.MAX_VALUE), body,
        (int) upstream, (int) buffer);
  }

  /** The largest body a script may ask for: it is held in memory, and sent to a remote engine. */
  static final long MAX_SCRIPT_BODY = 1024 * 1024;

  private static TenantConfig bindTenant(Section t, Problems problems, ScriptFiles scripts, boolean engineEnabled,
                                         boolean engineSupervised, ScriptFiles engineScripts, EscapedSlashes slashes,
                                         String source, boolean stateStore) {
    if (!t.has("name")) {
      problems.add(t.line(), t.keyPath("name"), "missing: every tenant needs a name");
    }
    String name = t.string("name", "");
    if (t.has("name") && name.isBlank()) {
      problems.add(t.keyPath("name"), "a tenant name must not be empty");
    }
    List<String> domains = t.strings("domains");
    domains.replaceAll(d -> d.trim().toLowerCase(Locale.ROOT));
    domains = List.copyOf(domains);
    String prefix = t.string("path_prefix", null);
    if (prefix != null && prefix.isEmpty()) {
      prefix = null; // the original treated "" as "no prefix"
    }
    long rawInterval = 0;
    Duration interval = DEFAULT_HEALTH_INTERVAL;
    if (t.has("health_interval")) {
      interval = t.duration("health_interval", DEFAULT_HEALTH_INTERVAL);
      if (interval.isZero()) {
        interval = DEFAULT_HEALTH_INTERVAL; // the original: 0 means the default
      }
      rawInterval = interval.toSeconds();
    }
    boolean strip = t.bool("strip_prefix", true);
    boolean preserveHost = t.bool("preserve_host", true);
    String script = t.string("lua_script", null);
    // script: {catalog: NAME@VERSION, params} takes a script from the catalog (installed next to
    // the config): it runs embedded, with its parameters as req.params.
    CatalogBinder.Bound catalog = null;
    if (t.has("script")) {
      if (script != null) {
        problems.add(t.keyPath("script"), "a tenant has lua_script (its own script) or script (a catalog script), not both");
      } else {
        // in an engine the gateway supervises (its own, or the shared one) the entry's file is given to it
        boolean inEngine = "process".equals(t.string("isolation", "shared"))
            || (engineSupervised && "remote".equals(t.string("script_engine", "embedded")));
        catalog = CatalogBinder.bind(t, source, problems, inEngine);
        script = catalog != null ? catalog.scriptName() : "(catalog script)";
      }
    }
    String policy = t.string("on_script_error", "fail_closed");
    if (!policy.equals("fail_closed") && !policy.equals("fail_open")) {
      problems.add(t.keyPath("on_script_error"), "must be fail_closed (answer 500) or fail_open (route as without a script), got '" + policy + "'");
    }
    boolean failOpen = policy.equals("fail_open");
    long body = t.size("script_body", 0); // opt-in: the body is read (up to this) before the script runs
    if (body < 0 || body > MAX_SCRIPT_BODY) {
      problems.add(t.keyPath("script_body"), "must be between 0 and 1MiB");
      body = 0;
    } else if (body > 0 && script == null) {
      problems.add(t.keyPath("script_body"), "only means something with a lua_script");
    }
    // script_mode: shadow runs the script on every request and logs and counts its decision
    // without applying it: a new script is tried on live traffic before it decides anything.
    String mode = t.string("script_mode", "enforce");
    if (!mode.equals("enforce") && !mode.equals("shadow")) {
      problems.add(t.keyPath("script_mode"), "must be enforce (the script decides) or shadow (its decision is logged and counted, not applied), got '" + mode + "'");
    } else if (mode.equals("shadow") && script == null) {
      problems.add(t.keyPath("script_mode"), "only means something with a lua_script");
    }
    boolean shadow = mode.equals("shadow");
    // isolation: process gives the tenant (or its isolation_group) an engine process of its own,
    // started, confined and limited as lua_engine.supervise says.
    String isolation = t.string("isolation", "shared");
    String isolationGroup = t.string("isolation_group", null);
    String group = null;
    if (isolation.equals("process")) {
      group = isolationGroup != null ? isolationGroup : name;
      if (script == null) {
        problems.add(t.keyPath("isolation"), "process isolation runs the tenant's script in its own engine: it needs a lua_script");
      } else if (!engineSupervised) {
        problems.add(t.keyPath("isolation"), "process isolation needs lua_engine.supervise (how the gateway starts, sandboxes and limits an engine process)");
      } else if ("embedded".equals(t.string("script_engine", "remote"))) {
        problems.add(t.keyPath("script_engine"), "embedded contradicts isolation: process (the script runs in its own engine)");
      }
    } else if (!isolation.equals("shared")) {
      problems.add(t.keyPath("isolation"), "must be shared or process, got '" + isolation + "'");
    } else if (isolationGroup != null) {
      problems.add(t.keyPath("isolation_group"), "only means something with isolation: process");
    }
    if (group != null && !group.matches("[A-Za-z0-9_.-]{1,64}")) {
      problems.add(t.keyPath("isolation_group"), "must be 1 to 64 letters, digits, '.', '_' or '-', got '" + group + "'");
      group = null;
    }
    // With a remote lua_engine (the original v1.3 setup) the engine holds the scripts, unless a
    // tenant keeps its script in the gateway.
    String where = t.string("script_engine", group != null || (engineEnabled && !t.has("script")) ? "remote" : "embedded");
    if (t.has("script") && group == null && where.equals("remote") && !engineSupervised) {
      // an engine at a URL serves its own scripts directory: the gateway cannot give it the entry
      problems.add(t.keyPath("script_engine"), "a catalog script runs embedded, or in an engine the gateway supervises "
          + "(lua_engine.supervise; isolation: process for the tenant's own)");
      where = "embedded";
    }
    if (!where.equals("embedded") && !where.equals("remote")) {
      problems.add(t.keyPath("script_engine"), "must be embedded or remote, got '" + where + "'");
      where = "embedded";
    } else if (where.equals("remote") && !engineEnabled && group == null) {
      problems.add(t.keyPath("script_engine"), "remote needs a lua_engine block with enabled: true and a url or supervise");
    } else if (script != null && engineScripts != null && !t.has("script")) {
      engineScripts.compile(script, t.keyPath("lua_script")); // only checked: the engine runs it
    }
    LuaScript compiled = t.has("script") ? (catalog == null || catalog.compiled() == null ? null
        : scripts.admit(catalog.compiled(), t.keyPath("script")))
        : script != null && where.equals("embedded") ? scripts.compile(script, t.keyPath("lua_script")) : null;
    if (!t.has("services") && script == null) {
      problems.add(t.line(), t.keyPath("services"), "missing: a tenant needs a 'services:' list (or a lua_script)");
    }
    List<ServiceConfig> services = new ArrayList<>();
    for (Section s : t.sections("services")) {
      services.add(bindService(s, problems, source));
    }
    EscapedSlashes tenantSlashes = t.parsed("escaped_slashes", slashes, "reject or pass", EscapedSlashes::parse);
    if (t.has("services") && services.isEmpty() && script == null) {
      problems.add(t.keyPath("services"), "the list is empty: a tenant needs at least one service (or a lua_script)");
    }
    ServerCertificate tls = ServerTlsBinder.tenant(t, domains, source);
    boolean redirect = t.bool("https_redirect", false);
    Duration hsts = t.has("hsts") ? t.duration("hsts", null) : null;
    if (hsts != null && (hsts.isNegative() || hsts.toSeconds() > 2L * 365 * 86400)) {
      problems.add(t.keyPath("hsts"), "must be between 0s (clients forget the rule) and 730d");
      hsts = null;
    }
    ClientAuth clientAuth = ServerTlsBinder.clientAuth(t, tls, source);
    MirrorConfig mirror = mirror(t, services, problems);
    dev.keystone.model.TenantPolicies policies = PolicyBinder.bind(t, problems, stateStore, source);
    t.finish();
    return new TenantConfig(name, domains, prefix, interval, rawInterval, strip, preserveHost, script, compiled,
        failOpen, body, shadow, services, tenantSlashes, group, null, tls, redirect, hsts, clientAuth, mirror,
        catalog == null ? null : catalog.catalog(), policies);
  }

  /** {@code mirror: {backend: NAME, percent: 1-100}}: NAME one of the tenant's services; null without one. */
  private static MirrorConfig mirror(Section t, List<ServiceConfig> services, Problems problems) {
    Section m = t.section("mirror");
    if (m == null) {
      return null;
    }
    String backend = m.string("backend", null);
    long percent = m.integer("percent", 100);
    m.finish();
    if (backend == null || services.stream().noneMatch(s -> s.name().equals(backend))) {
      problems.add(m.keyPath("backend"), "must name one of the tenant's services (add it with standby: true so it gets no"
          + " traffic of its own), got " + (backend == null ? "nothing" : "'" + backend + "'"));
      return null;
    }
    if (percent < 1 || percent > 100) {
      problems.add(m.keyPath("percent"), "must be between 1 and 100, got " + percent);
      return null;
    }
    return new MirrorConfig(backend, (int) percent);
  }

  private static ServiceConfig bindService(Section s, Problems problems, String source) {
    if (!s.has("name")) {
      problems.add(s.line(), s.keyPath("name"), "missing: every service needs a name");
    }
    String name = s.string("name", "");
    if (!s.has("url")) {
      problems.add(s.line(), s.keyPath("url"), "missing: every service needs a url such as http://127.0.0.1:3000");
    }
    int errorsBefore = problems.errors.size();
    String url = s.string("url", "");
    if (s.has("url") && url.isBlank() && problems.errors.size() == errorsBefore) {
      problems.add(s.keyPath("url"), "the url is empty (an unset ${VAR}?)");
    }
    String health = s.string("health", "/");
    long weight = s.integer("weight", 1);
    if (weight < 1 || weight > 1000) {
      problems.add(s.keyPath("weight"), "must be between 1 and 1000, got " + weight);
      weight = 1;
    }
    Map<String, String> labels = s.stringMap("labels");
    boolean standby = s.bool("standby", false);
    UpstreamTls tls = TlsBinder.bind(s, url.trim(), source);
    s.finish();
    return new ServiceConfig(name, url.trim(), health.trim(), (int) weight, labels, tls, standby);
  }
}

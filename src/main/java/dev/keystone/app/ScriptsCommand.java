package dev.keystone.app;

import dev.keystone.catalog.Catalog;
import dev.keystone.catalog.CatalogException;
import dev.keystone.catalog.CatalogIndex;
import dev.keystone.catalog.CatalogSource;
import dev.keystone.catalog.Diff;
import dev.keystone.catalog.Entry;
import dev.keystone.catalog.Installed;
import dev.keystone.catalog.LockFile;
import dev.keystone.catalog.Signatures;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * {@code keystone scripts search|show|add|update|remove|verify|index}: the script catalog from the
 * command line (docs/catalog.md). Entries are fetched from a catalog (the one bundled in the jar
 * unless {@code --catalog} or {@code KEYSTONE_CATALOG} names another), checked (SHA-256, and the
 * signature when a public key is given), their tests run in every language that can be run here,
 * and installed next to the config, pinned in {@code scripts.lock.json} with the languages that
 * passed. Exit codes: 0 done, 1 refused or failed, 2 bad usage.
 */
final class ScriptsCommand {

  static final String USAGE = """
      usage: keystone scripts search [TEXT]              entries whose name or description has TEXT
             keystone scripts show NAME[@VERSION]        an entry: description, parameters, languages, SHA-256
             keystone scripts add NAME[@VERSION]         fetch, check, test and install it next to the config
             keystone scripts update NAME[@VERSION] [--yes] [--allow-downgrade]
                                                         show the diff to the installed version; --yes installs it
             keystone scripts remove NAME [--force]      uninstall (refused while the config uses it, unless --force)
             keystone scripts verify [NAME...]           check installed entries against the lock file and run their tests
             keystone scripts verify --all               check every entry of the catalog and run its tests
             keystone scripts index DIR [--sign-key KEY] write DIR/index.json (catalog maintainers)
        options: --catalog DIR|URL|builtin (add, search, show: default $KEYSTONE_CATALOG, else builtin;
                                            update: the catalog the entry came from)
                 --public-key FILE (Ed25519 PEM; default: $KEYSTONE_CATALOG_KEY): entries must be signed by it
                 --engine LANG=COMMAND (js, py): run the tests of that language's version on this engine
                                       (e.g. --engine js="node engines/node/engine.js"); untested versions do not run
                 --config FILE (default keystone.yaml) or --dir DIR: where scripts.lock.json and catalog-scripts/ are
      """;

  private final PrintStream out;
  private final PrintStream err;
  private final Function<String, String> env;
  private final CatalogTests tests;

  /** Which languages' versions passed an entry's tests, and every failure. */
  record Outcome(List<String> tested, List<String> failed) {
  }

  /** Runs an entry's tests in every language it can: in this process, or on the engines given. */
  interface CatalogTests {
    Outcome run(Entry e, Map<String, List<String>> engines, PrintStream out) throws CatalogException;
  }

  ScriptsCommand(PrintStream out, PrintStream err, Function<String, String> env, CatalogTests tests) {
    this.out = out;
    this.err = err;
    this.env = env;
    this.tests = tests;
  }

  /** The options of one invocation. */
  private record Options(Map<String, String> values, Set<String> flags, Map<String, List<String>> engines) {
  }

  int run(String[] argv) {
    List<String> args = new ArrayList<>();
    Options o = new Options(new HashMap<>(), new java.util.HashSet<>(), new HashMap<>());
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      switch (a) {
        case "--catalog", "--public-key", "--config", "--dir", "--sign-key", "--engine" -> {
          if (i + 1 >= argv.length) {
            return usage(a + " needs a value");
          }
          String v = argv[++i];
          if (a.equals("--engine")) {
            int eq = v.indexOf('=');
            String lang = eq < 0 ? "" : v.substring(0, eq);
            if (!lang.equals("js") && !lang.equals("py") || v.substring(eq + 1).isBlank()) {
              return usage("--engine LANG=COMMAND, LANG js or py, e.g. --engine js=\"node engines/node/engine.js\"");
            }
            o.engines().put(lang, List.of(v.substring(eq + 1).trim().split("\\s+")));
          } else {
            o.values().put(a, v);
          }
        }
        case "--yes", "--force", "--all", "--allow-downgrade" -> o.flags().add(a);
        case "-h", "--help" -> {
          out.print(USAGE);
          return 0;
        }
        default -> {
          if (a.startsWith("--")) {
            return usage("unknown option " + a);
          }
          args.add(a);
        }
      }
    }
    if (args.isEmpty()) {
      return usage("which command?");
    }
    try {
      return dispatch(args.get(0), args.subList(1, args.size()), o);
    } catch (IllegalArgumentException e) {
      return usage(e.getMessage());
    } catch (CatalogException e) {
      err.println("keystone scripts: " + Diff.visible(e.getMessage()));
      return 1;
    }
  }

  private int dispatch(String cmd, List<String> args, Options o) throws CatalogException {
    switch (cmd) {
      case "search" -> {
        List<CatalogIndex.Line> found = catalog(o, null).index().search(args.isEmpty() ? "" : String.join(" ", args));
        for (CatalogIndex.Line l : found) {
          out.printf("%-24s %-8s %-10s %s%n", l.name(), l.version(), String.join(",", l.languages()), Diff.visible(l.description()));
        }
        if (found.isEmpty()) {
          out.println("no entry matches");
        }
        return 0;
      }
      case "show" -> {
        String[] ref = ref(one(args, "show NAME[@VERSION]"));
        Catalog c = catalog(o, null);
        Entry e = c.fetch(ref[0], ref[1]);
        var m = e.manifest();
        out.println(m.id() + "  " + m.description());
        out.println("  author:    " + m.author());
        out.println("  licence:   " + m.licence());
        out.println("  languages: " + String.join(", ", m.languages()));
        out.println("  sha256:    " + e.sha256() + (e.signed() ? "  (signature verified)" : c.requiresSignatures() ? "" : "  (no public key given: signature not checked)"));
        out.println("  versions:  " + String.join(", ", c.index().versions(m.name())));
        out.println("  params (JSON Schema):");
        out.println(indent(Diff.visible(m.params().encodePrettily())));
        return 0;
      }
      case "add", "update" -> {
        return install(cmd, ref(one(args, cmd + " NAME[@VERSION]")), o);
      }
      case "remove" -> {
        String name = one(args, "remove NAME");
        Installed installed = installed(o);
        if (!installed.lock().scripts().containsKey(name)) {
          throw new CatalogException(name + " is not installed");
        }
        Path config = configFile(o);
        if (!o.flags().contains("--force") && config != null && usedBy(config, name)) {
          throw new CatalogException(config + " uses " + name + " (script: {catalog: " + name + "...}): not removed (--force removes it anyway)");
        }
        installed.remove(name);
        out.println("removed " + name);
        return 0;
      }
      case "verify" -> {
        return o.flags().contains("--all") ? verifyCatalog(catalog(o, null), o) : verifyInstalled(installed(o), args, o);
      }
      case "index" -> {
        Path dir = Path.of(one(args, "index DIR"));
        String keyFile = o.values().get("--sign-key");
        var index = dev.keystone.catalog.IndexBuilder.build(dir, keyFile == null ? null : Signatures.privateKey(read(Path.of(keyFile))));
        try {
          Files.write(dir.resolve(CatalogIndex.FILE), index.toBytes());
        } catch (IOException e) {
          throw new CatalogException(dir.resolve(CatalogIndex.FILE) + ": cannot write: " + e.getMessage());
        }
        out.println("wrote " + dir.resolve(CatalogIndex.FILE) + ": " + index.entries().size() + " entries"
            + (keyFile == null ? "" : ", signed"));
        return 0;
      }
      default -> throw new IllegalArgumentException("unknown command '" + cmd + "'");
    }
  }

  /** add and update: fetch, check, diff (update), test, install. */
  private int install(String cmd, String[] ref, Options o) throws CatalogException {
    Installed installed = installed(o);
    LockFile.Pinned old = installed.lock().scripts().get(ref[0]);
    if (cmd.equals("add") && old != null) {
      throw new CatalogException(old.id() + " is installed already: use keystone scripts update " + ref[0]);
    }
    if (cmd.equals("update") && old == null) {
      throw new CatalogException(ref[0] + " is not installed: use keystone scripts add " + ref[0]);
    }
    Catalog c = catalog(o, old);
    if (old != null && old.signed() && !c.requiresSignatures()) {
      throw new CatalogException(old.id() + " was installed signed: give its catalog's --public-key to update it");
    }
    if (old != null && !old.key().isEmpty() && !old.key().equals(c.keyFingerprint())) {
      throw new CatalogException(old.id() + " was installed signed by the key " + old.key() + ", this public key is "
          + c.keyFingerprint() + ": refused (to change keys, remove the entry and add it again)");
    }
    Entry e = c.fetch(ref[0], ref[1]);
    if (old != null) {
      if (old.version().equals(e.manifest().version()) && old.sha256().equals(e.sha256())) {
        out.println(old.id() + " is up to date");
        return 0;
      }
      if (dev.keystone.catalog.CatalogIndex.compareVersions(e.manifest().version(), old.version()) < 0
          && !o.flags().contains("--allow-downgrade")) {
        throw new CatalogException(e.id() + " is older than the installed " + old.id()
            + ": refused (an old, signed index can be replayed; --allow-downgrade if you mean it)");
      }
      out.println("update " + old.id() + " -> " + e.id() + " from catalog " + c.source().location()
          + (old.version().equals(e.manifest().version())
          ? "  (same version, other content: the catalog changed the entry after it was published)" : ""));
      Entry before = installed.read(old.name(), old.version());
      Diff.of(before.files(), e.files()).forEach(out::println);
      if (!o.flags().contains("--yes")) {
        out.println("not installed: run again with --yes to install " + e.id());
        return 0;
      }
    }
    Outcome result = tests.run(e, o.engines(), out);
    if (!result.failed().isEmpty()) {
      throw new CatalogException(e.id() + ": " + result.failed().size() + " of its tests failed: not installed");
    }
    if (result.tested().isEmpty()) {
      throw new CatalogException(e.id() + ": none of its versions (" + String.join(", ", e.manifest().languages())
          + ") could be tested here: not installed (give --engine LANG=COMMAND)");
    }
    installed.install(e, c.source().location(), result.tested(), e.signed() ? c.keyFingerprint() : "");
    out.println("installed " + e.id() + " (sha256 " + e.sha256() + (e.signed() ? ", signature verified" : "")
        + "; tested: " + String.join(", ", result.tested()) + ") in " + installed.dir(e.manifest().name(), e.manifest().version()));
    out.println("use it in a tenant:  script: { catalog: " + e.id() + ", params: { ... } }");
    return 0;
  }

  private int verifyInstalled(Installed installed, List<String> names, Options o) throws CatalogException {
    var pinned = installed.lock().scripts();
    List<String> which = names.isEmpty() ? new ArrayList<>(pinned.keySet()) : names;
    int bad = 0;
    for (String n : which) {
      try {
        Entry e = installed.read(n, null);
        Outcome r = tests.run(e, o.engines(), out);
        if (r.failed().isEmpty()) {
          installed.markTested(n, r.tested()); // checked against the lock just now: these versions may run
        }
        LockFile.Pinned now = installed.lock().scripts().get(n);
        out.println((r.failed().isEmpty() ? "ok   " : "FAIL ") + e.id() + " sha256 " + e.sha256()
            + (r.failed().isEmpty() ? "; tested: " + String.join(", ", now.tested()) : ": " + r.failed().size() + " tests failed"));
        bad += r.failed().isEmpty() ? 0 : 1;
      } catch (CatalogException x) {
        out.println("FAIL " + n + ": " + Diff.visible(x.getMessage()));
        bad++;
      }
    }
    if (which.isEmpty()) {
      out.println("no catalog scripts installed in " + installed.base());
    }
    return bad == 0 ? 0 : 1;
  }

  private int verifyCatalog(Catalog c, Options o) throws CatalogException {
    int bad = 0;
    for (CatalogIndex.Line l : c.index().entries()) {
      try {
        Entry e = c.fetch(l.name(), l.version());
        Outcome r = tests.run(e, o.engines(), out);
        boolean ok = r.failed().isEmpty() && !r.tested().isEmpty();
        out.println((ok ? "ok   " : "FAIL ") + e.id() + (ok ? "; tested: " + String.join(", ", r.tested())
            : r.failed().isEmpty() ? ": no version could be tested here" : ": " + r.failed().size() + " tests failed"));
        bad += ok ? 0 : 1;
      } catch (CatalogException x) {
        out.println("FAIL " + l.id() + ": " + Diff.visible(x.getMessage()));
        bad++;
      }
    }
    return bad == 0 ? 0 : 1;
  }

  /** add, search, show: --catalog, else $KEYSTONE_CATALOG, else builtin; update: --catalog, else where it came from. */
  private Catalog catalog(Options o, LockFile.Pinned installed) throws CatalogException {
    String location = o.values().get("--catalog");
    if (location == null) {
      location = installed != null && !installed.catalog().isEmpty() ? installed.catalog() : env.apply("KEYSTONE_CATALOG");
    }
    String keyFile = o.values().getOrDefault("--public-key", env.apply("KEYSTONE_CATALOG_KEY"));
    PublicKey key = keyFile == null || keyFile.isEmpty() ? null : Signatures.publicKey(read(Path.of(keyFile)));
    return new Catalog(CatalogSource.open(location), key);
  }

  private static Installed installed(Options o) {
    if (o.values().containsKey("--dir")) {
      return new Installed(Path.of(o.values().get("--dir")).toAbsolutePath());
    }
    Path config = Path.of(o.values().getOrDefault("--config", "keystone.yaml")).toAbsolutePath();
    return new Installed(config.getParent());
  }

  private static Path configFile(Options o) {
    Map<String, String> v = o.values();
    Path p = v.containsKey("--config") ? Path.of(v.get("--config"))
        : v.containsKey("--dir") ? Path.of(v.get("--dir"), "keystone.yaml") : Path.of("keystone.yaml");
    return Files.isRegularFile(p) ? p : null;
  }

  /** Whether the config names the entry in a {@code catalog:} key (read as text: it may not load without it). */
  static boolean usedBy(Path config, String name) throws CatalogException {
    String text = read(config);
    return Pattern.compile("catalog:\\s*[\"']?" + Pattern.quote(name) + "(?:@|[\"'\\s,}]|$)", Pattern.MULTILINE).matcher(text).find();
  }

  private static String read(Path file) throws CatalogException {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new CatalogException(file + ": " + e.getMessage());
    }
  }

  private static String[] ref(String s) {
    int at = s.indexOf('@');
    return at < 0 ? new String[] {s, null} : new String[] {s.substring(0, at), s.substring(at + 1)};
  }

  private static String one(List<String> args, String usage) {
    if (args.size() != 1) {
      throw new IllegalArgumentException("expected: keystone scripts " + usage);
    }
    return args.get(0);
  }

  private static String indent(String s) {
    return "    " + s.replace("\n", "\n    ");
  }

  private int usage(String problem) {
    err.println("keystone scripts: " + problem);
    err.print(USAGE);
    return 2;
  }
}

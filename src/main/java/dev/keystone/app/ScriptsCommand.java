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
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * {@code keystone scripts search|show|add|update|remove|verify|index}: the script catalog from the
 * command line (docs/catalog.md). Entries are fetched from a catalog (the one bundled in the jar
 * unless {@code --catalog} or {@code KEYSTONE_CATALOG} names another), checked (SHA-256, and the
 * signature when a public key is given), their tests run, and installed next to the config,
 * pinned in {@code scripts.lock.json}. Exit codes: 0 done, 1 refused or failed, 2 bad usage.
 */
final class ScriptsCommand {

  static final String USAGE = """
      usage: keystone scripts search [TEXT]              entries whose name or description has TEXT
             keystone scripts show NAME[@VERSION]        an entry: description, parameters, languages, SHA-256
             keystone scripts add NAME[@VERSION]         fetch, check, test and install it next to the config
             keystone scripts update NAME[@VERSION] [--yes]   show the diff to the installed version; --yes installs it
             keystone scripts remove NAME [--force]      uninstall (refused while the config uses it, unless --force)
             keystone scripts verify [NAME]              check installed entries against the lock file and run their tests
             keystone scripts verify --all               check every entry of the catalog and run its tests
             keystone scripts index DIR [--sign-key KEY] write DIR/index.json (catalog maintainers)
        options: --catalog DIR|URL|builtin (default: $KEYSTONE_CATALOG, else builtin)
                 --public-key FILE (Ed25519 PEM; default: $KEYSTONE_CATALOG_KEY): entries must be signed by it
                 --config FILE (default keystone.yaml) or --dir DIR: where scripts.lock.json and catalog-scripts/ are
      """;

  private final PrintStream out;
  private final PrintStream err;
  private final Function<String, String> env;
  private final CatalogTests tests;

  /** Runs an entry's tests in the languages this process can run; returns the failures (empty: all passed). */
  interface CatalogTests {
    List<String> run(Entry e, PrintStream out) throws CatalogException;
  }

  ScriptsCommand(PrintStream out, PrintStream err, Function<String, String> env, CatalogTests tests) {
    this.out = out;
    this.err = err;
    this.env = env;
    this.tests = tests;
  }

  int run(String[] argv) {
    List<String> args = new ArrayList<>();
    Map<String, String> opts = new java.util.HashMap<>();
    java.util.Set<String> flags = new java.util.HashSet<>();
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      switch (a) {
        case "--catalog", "--public-key", "--config", "--dir", "--sign-key" -> {
          if (i + 1 >= argv.length) {
            return usage(a + " needs a value");
          }
          opts.put(a, argv[++i]);
        }
        case "--yes", "--force", "--all" -> flags.add(a);
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
      return dispatch(args.get(0), args.subList(1, args.size()), opts, flags);
    } catch (IllegalArgumentException e) {
      return usage(e.getMessage());
    } catch (CatalogException e) {
      err.println("keystone scripts: " + e.getMessage());
      return 1;
    }
  }

  private int dispatch(String cmd, List<String> args, Map<String, String> opts, java.util.Set<String> flags) throws CatalogException {
    switch (cmd) {
      case "search" -> {
        List<CatalogIndex.Line> found = catalog(opts, null).index().search(args.isEmpty() ? "" : String.join(" ", args));
        for (CatalogIndex.Line l : found) {
          out.printf("%-24s %-8s %-10s %s%n", l.name(), l.version(), String.join(",", l.languages()), l.description());
        }
        if (found.isEmpty()) {
          out.println("no entry matches");
        }
        return 0;
      }
      case "show" -> {
        String[] ref = ref(one(args, "show NAME[@VERSION]"));
        Catalog c = catalog(opts, null);
        Entry e = c.fetch(ref[0], ref[1]);
        var m = e.manifest();
        out.println(m.id() + "  " + m.description());
        out.println("  author:    " + m.author());
        out.println("  licence:   " + m.licence());
        out.println("  languages: " + String.join(", ", m.languages()));
        out.println("  sha256:    " + e.sha256() + (e.signed() ? "  (signature verified)" : c.requiresSignatures() ? "" : "  (no public key given: signature not checked)"));
        out.println("  versions:  " + String.join(", ", c.index().versions(m.name())));
        out.println("  params (JSON Schema):");
        out.println(indent(m.params().encodePrettily()));
        return 0;
      }
      case "add", "update" -> {
        String[] ref = ref(one(args, cmd + " NAME[@VERSION]"));
        Installed installed = installed(opts);
        LockFile.Pinned old = installed.lock().scripts().get(ref[0]);
        if (cmd.equals("add") && old != null) {
          throw new CatalogException(old.id() + " is installed already: use keystone scripts update " + ref[0]);
        }
        if (cmd.equals("update") && old == null) {
          throw new CatalogException(ref[0] + " is not installed: use keystone scripts add " + ref[0]);
        }
        Catalog c = catalog(opts, old);
        if (old != null && old.signed() && !c.requiresSignatures()) {
          throw new CatalogException(old.id() + " was installed signed: give its catalog's --public-key to update it");
        }
        Entry e = c.fetch(ref[0], ref[1]);
        if (old != null) {
          if (old.version().equals(e.manifest().version()) && old.sha256().equals(e.sha256())) {
            out.println(old.id() + " is up to date");
            return 0;
          }
          out.println("update " + old.id() + " -> " + e.id() + (old.version().equals(e.manifest().version())
              ? "  (same version, other content: the catalog changed the entry after it was published)" : ""));
          Entry before = installed.read(old.name(), old.version());
          Diff.of(before.files(), e.files()).forEach(out::println);
          if (!flags.contains("--yes")) {
            out.println("not installed: run again with --yes to install " + e.id());
            return 0;
          }
        }
        List<String> failed = tests.run(e, out);
        if (!failed.isEmpty()) {
          throw new CatalogException(e.id() + ": " + failed.size() + " of its tests failed: not installed");
        }
        installed.install(e, c.source().location());
        out.println("installed " + e.id() + " (sha256 " + e.sha256() + (e.signed() ? ", signature verified" : "") + ") in "
            + installed.dir(e.manifest().name(), e.manifest().version()));
        out.println("use it in a tenant:  script: { catalog: " + e.id() + ", params: { ... } }");
        return 0;
      }
      case "remove" -> {
        String name = one(args, "remove NAME");
        Installed installed = installed(opts);
        if (!installed.lock().scripts().containsKey(name)) {
          throw new CatalogException(name + " is not installed");
        }
        Path config = configFile(opts);
        if (!flags.contains("--force") && config != null && usedBy(config, name)) {
          throw new CatalogException(config + " uses " + name + " (script: {catalog: " + name + "...}): not removed (--force removes it anyway)");
        }
        if (!installed.remove(name)) {
          throw new CatalogException(name + " is not installed");
        }
        out.println("removed " + name);
        return 0;
      }
      case "verify" -> {
        return flags.contains("--all") ? verifyCatalog(catalog(opts, null)) : verifyInstalled(installed(opts), args);
      }
      case "index" -> {
        Path dir = Path.of(one(args, "index DIR"));
        String keyFile = opts.get("--sign-key");
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

  private int verifyInstalled(Installed installed, List<String> names) throws CatalogException {
    var pinned = installed.lock().scripts();
    List<String> which = names.isEmpty() ? new ArrayList<>(pinned.keySet()) : names;
    int bad = 0;
    for (String n : which) {
      try {
        Entry e = installed.read(n, null);
        List<String> failed = tests.run(e, out);
        out.println((failed.isEmpty() ? "ok   " : "FAIL ") + e.id() + " sha256 " + e.sha256()
            + (failed.isEmpty() ? "" : ": " + failed.size() + " tests failed"));
        bad += failed.isEmpty() ? 0 : 1;
      } catch (CatalogException x) {
        out.println("FAIL " + n + ": " + x.getMessage());
        bad++;
      }
    }
    if (which.isEmpty()) {
      out.println("no catalog scripts installed in " + installed.base());
    }
    return bad == 0 ? 0 : 1;
  }

  private int verifyCatalog(Catalog c) throws CatalogException {
    int bad = 0;
    for (CatalogIndex.Line l : c.index().entries()) {
      try {
        Entry e = c.fetch(l.name(), l.version());
        List<String> failed = tests.run(e, out);
        out.println((failed.isEmpty() ? "ok   " : "FAIL ") + e.id() + (failed.isEmpty() ? "" : ": " + failed.size() + " tests failed"));
        bad += failed.isEmpty() ? 0 : 1;
      } catch (CatalogException x) {
        out.println("FAIL " + l.id() + ": " + x.getMessage());
        bad++;
      }
    }
    return bad == 0 ? 0 : 1;
  }

  private Catalog catalog(Map<String, String> opts, LockFile.Pinned installed) throws CatalogException {
    String location = opts.getOrDefault("--catalog", env.apply("KEYSTONE_CATALOG"));
    if (location == null && installed != null && !installed.catalog().isEmpty()) {
      location = installed.catalog(); // update from where it came
    }
    String keyFile = opts.getOrDefault("--public-key", env.apply("KEYSTONE_CATALOG_KEY"));
    PublicKey key = keyFile == null || keyFile.isEmpty() ? null : Signatures.publicKey(read(Path.of(keyFile)));
    return new Catalog(CatalogSource.open(location), key);
  }

  private Installed installed(Map<String, String> opts) {
    if (opts.containsKey("--dir")) {
      return new Installed(Path.of(opts.get("--dir")).toAbsolutePath());
    }
    Path config = Path.of(opts.getOrDefault("--config", "keystone.yaml")).toAbsolutePath();
    return new Installed(config.getParent());
  }

  private static Path configFile(Map<String, String> opts) {
    Path p = opts.containsKey("--config") ? Path.of(opts.get("--config"))
        : opts.containsKey("--dir") ? Path.of(opts.get("--dir"), "keystone.yaml") : Path.of("keystone.yaml");
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

package dev.keystone.catalog;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Writes a catalog directory's {@code index.json} from its entries ({@code NAME/VERSION/entry.json}
 * and the files each names), for the catalog's maintainers: {@code keystone scripts index DIR
 * [--sign-key KEY]}. Without a key, a signature already in the index is kept when the entry's
 * SHA-256 did not change (it still signs the same content) and dropped when it did.
 */
public final class IndexBuilder {

  private IndexBuilder() {
  }

  /** The index of {@code dir}'s entries, as it should be; every entry is read and checked. */
  public static CatalogIndex build(Path dir, PrivateKey key) throws CatalogException {
    CatalogSource source = CatalogSource.open(dir.toString());
    CatalogIndex old = null;
    if (Files.isRegularFile(dir.resolve(CatalogIndex.FILE))) {
      try {
        old = CatalogIndex.parse(dir.resolve(CatalogIndex.FILE).toString(), source.read(CatalogIndex.FILE, CatalogIndex.MAX_BYTES));
      } catch (CatalogException e) {
        old = null; // a broken old index is simply replaced
      }
    }
    List<CatalogIndex.Line> lines = new ArrayList<>();
    for (Path manifest : manifests(dir)) {
      String rel = dir.relativize(manifest.getParent()).toString().replace('\\', '/');
      byte[] bytes = source.read(rel + "/" + Manifest.FILE, Entry.MAX_FILE);
      Manifest m = Manifest.parse(manifest.toString(), bytes);
      if (!rel.equals(m.name() + "/" + m.version())) {
        throw new CatalogException(manifest + ": is " + m.id() + ": it belongs in " + m.name() + "/" + m.version() + "/");
      }
      Entry e = Entry.read(m, bytes, (f, max) -> source.read(rel + "/" + f, max), null, false);
      EntryTests.of(e); // a catalog never lists an entry whose tests cannot even be read
      for (String lang : m.scripts().keySet()) {
        if (e.script(lang).isBlank()) {
          throw new CatalogException(e.id() + ": its " + lang + " script is empty");
        }
      }
      String signature = null;
      if (key != null) {
        signature = Signatures.sign(key, m.name(), m.version(), e.sha256());
      } else if (old != null) {
        CatalogIndex.Line before = old.find(m.name(), m.version());
        if (before != null && before.sha256().equals(e.sha256())) {
          signature = before.signature();
        }
      }
      lines.add(new CatalogIndex.Line(m.name(), m.version(), m.description(), m.languages(), rel, e.sha256(), signature));
    }
    lines.sort(Comparator.comparing(CatalogIndex.Line::name).thenComparing(CatalogIndex.Line::version, CatalogIndex.Versions::compare));
    return new CatalogIndex(List.copyOf(lines));
  }

  private static List<Path> manifests(Path dir) throws CatalogException {
    try (Stream<Path> s = Files.walk(dir, 3)) {
      return s.filter(p -> p.getFileName().toString().equals(Manifest.FILE) && dir.relativize(p).getNameCount() == 3)
          .sorted().toList();
    } catch (IOException e) {
      throw new CatalogException(dir + ": " + e.getMessage());
    }
  }
}

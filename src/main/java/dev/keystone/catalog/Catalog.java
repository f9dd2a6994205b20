package dev.keystone.catalog;

import java.security.PublicKey;

/**
 * A catalog to search and fetch from: its index, and entries fetched and checked against it:
 * the manifest must be the entry the index names, the files must hash to the index's SHA-256,
 * and with a public key configured, the index's signature of that SHA-256 must verify (an
 * unsigned entry is then refused too). A tampered file, a swapped manifest or a forged index
 * line is refused before anything is installed.
 */
public final class Catalog {

  private final CatalogSource source;
  private final PublicKey key;
  private CatalogIndex index;

  /** {@code key}: the catalog's Ed25519 public key, or null when entries are not signed. */
  public Catalog(CatalogSource source, PublicKey key) {
    this.source = source;
    this.key = key;
  }

  public CatalogSource source() {
    return source;
  }

  public boolean requiresSignatures() {
    return key != null;
  }

  /** The configured key's fingerprint, or "" without one. */
  public String keyFingerprint() {
    return Signatures.fingerprint(key);
  }

  public CatalogIndex index() throws CatalogException {
    if (index == null) {
      index = CatalogIndex.parse(source.location() + "/" + CatalogIndex.FILE, source.read(CatalogIndex.FILE, CatalogIndex.MAX_BYTES));
    }
    return index;
  }

  /** NAME@VERSION (the newest version when {@code version} is null), fetched and checked. */
  public Entry fetch(String name, String version) throws CatalogException {
    CatalogIndex.Line line = index().find(name, version);
    if (line == null) {
      throw new CatalogException("no entry " + name + (version == null ? "" : "@" + version) + " in catalog "
          + source.location() + (index().versions(name).isEmpty() ? "" : " (versions: " + index().versions(name) + ")"));
    }
    boolean signed = false;
    if (key != null) {
      if (line.signature() == null) {
        throw new CatalogException(line.id() + ": not signed, and a public key is configured for catalog " + source.location());
      }
      if (!Signatures.verify(key, line.name(), line.version(), line.sha256(), line.signature())) {
        throw new CatalogException(line.id() + ": the signature does not verify with the configured public key: refused");
      }
      signed = true;
    }
    String dir = line.path() + "/";
    byte[] manifestBytes = source.read(dir + Manifest.FILE, Entry.MAX_FILE);
    Manifest m = Manifest.parse(source.location() + "/" + dir + Manifest.FILE, manifestBytes);
    if (!m.name().equals(line.name()) || !m.version().equals(line.version())) {
      throw new CatalogException(source.location() + "/" + dir + Manifest.FILE + ": is " + m.id() + ", the index says " + line.id());
    }
    // What search shows comes from the index line, which no signature covers: it must say what the
    // (hashed, signed) manifest says, or the index was written by someone else than the entries.
    if (!m.description().equals(line.description()) || !m.languages().equals(line.languages())) {
      throw new CatalogException(line.id() + ": the index's description or languages differ from the entry's own: "
          + "the index was changed after it was written");
    }
    return Entry.read(m, manifestBytes, (f, max) -> source.read(dir + f, max), line.sha256(), signed);
  }
}

package dev.keystone.model;

/**
 * A tenant's script taken from the catalog ({@code script: {catalog: NAME@VERSION, params}}): which
 * entry, pinned by its SHA-256, and the tenant's parameters, checked against the entry's schema
 * with its defaults filled in. What the dashboard and the admin API show, and what the script
 * sees as {@code req.params}.
 *
 * @param params   the parameters as a JSON object's text ({@code {}} for none)
 * @param signed   whether the entry's signature was verified when it was installed
 * @param language the version of the entry that runs: {@code lua} embedded, or {@code lua},
 *                 {@code js}, {@code py} in the tenant's own engine ({@code isolation: process})
 * @param file     that version's installed script file (checked against the lock file when the
 *                 config loaded), which an isolated engine is given as {@code NAME@VERSION.EXT}
 * @param fileSha256 the SHA-256 of that file as it was checked: what is copied for an engine must
 *                 still be it (an edit after the load is refused, not run)
 */
public record CatalogScript(String name, String version, String sha256, boolean signed, String params, String language,
                            String file, String fileSha256) {

  public String id() {
    return name + "@" + version;
  }
}

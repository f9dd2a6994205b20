package dev.keystone.catalog;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Where a catalog's files are: a directory, an HTTP(S) base URL, or the catalog bundled in the
 * jar ({@code builtin}). Paths are relative to the catalog ({@code index.json},
 * {@code rate-limit/1.0.0/entry.json}) and checked before use: no {@code ..}, no absolute paths,
 * nothing but names of the form the index and the manifests allow. Every read is bounded.
 */
public interface CatalogSource {

  String BUILTIN = "builtin";

  /** How the user named it (recorded in the lock file). */
  String location();

  /** The file's bytes, at most {@code max}; a missing file or a bigger one is a CatalogException. */
  byte[] read(String path, int max) throws CatalogException;

  static CatalogSource open(String location) throws CatalogException {
    if (location == null || location.isBlank() || location.equals(BUILTIN)) {
      return new Bundled();
    }
    if (location.startsWith("https://") || location.startsWith("http://")) {
      return new Http(location.endsWith("/") ? location : location + "/");
    }
    if (location.contains("://")) {
      throw new CatalogException("catalog " + location + ": a directory, an http(s):// URL or 'builtin' expected");
    }
    Path dir = Path.of(location).toAbsolutePath().normalize();
    if (!Files.isDirectory(dir)) {
      throw new CatalogException("catalog " + location + ": no such directory");
    }
    return new Directory(location, dir);
  }

  /** A relative path of catalog names: segments of letters, digits, '.', '_', '-', none '.' or '..'. */
  static String checked(String path) throws CatalogException {
    for (String seg : path.split("/", -1)) {
      if (seg.isEmpty() || seg.equals(".") || seg.equals("..") || !seg.matches("[A-Za-z0-9_.-]{1,100}")) {
        throw new CatalogException("not a catalog path: '" + path + "'");
      }
    }
    return path;
  }

  private static byte[] bounded(InputStream in, int max, String what) throws IOException, CatalogException {
    byte[] b = in.readNBytes(max + 1);
    if (b.length > max) {
      throw new CatalogException(what + ": larger than " + max + " bytes");
    }
    return b;
  }

  record Directory(String location, Path dir) implements CatalogSource {
    @Override
    public byte[] read(String path, int max) throws CatalogException {
      Path file = dir.resolve(checked(path));
      try {
        // a symbolic link could lead out of the catalog: only regular files inside it are read
        if (!file.toRealPath().startsWith(dir.toRealPath())) {
          throw new CatalogException(location + "/" + path + ": leads outside the catalog");
        }
        try (InputStream in = Files.newInputStream(file)) {
          return bounded(in, max, location + "/" + path);
        }
      } catch (NoSuchFileException e) {
        throw new CatalogException(location + "/" + path + ": no such file");
      } catch (IOException e) {
        throw new CatalogException(location + "/" + path + ": " + e.getMessage());
      }
    }
  }

  record Bundled() implements CatalogSource {
    @Override
    public String location() {
      return BUILTIN;
    }

    @Override
    public byte[] read(String path, int max) throws CatalogException {
      try (InputStream in = CatalogSource.class.getResourceAsStream("/catalog/" + checked(path))) {
        if (in == null) {
          throw new CatalogException("builtin catalog: no " + path);
        }
        return bounded(in, max, "builtin catalog: " + path);
      } catch (IOException e) {
        throw new CatalogException("builtin catalog: " + path + ": " + e.getMessage());
      }
    }
  }

  /** An HTTP(S) catalog: GETs below the base URL, 10 s to connect and to the answer's head; redirects followed, never from https to http. */
  record Http(String location) implements CatalogSource {
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
        .followRedirects(HttpClient.Redirect.NORMAL).build();

    @Override
    public byte[] read(String path, int max) throws CatalogException {
      URI uri = URI.create(location + checked(path));
      try {
        HttpResponse<InputStream> r = CLIENT.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
            HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body()) {
          if (r.statusCode() != 200) {
            throw new CatalogException(uri + ": HTTP " + r.statusCode());
          }
          return bounded(in, max, uri.toString());
        }
      } catch (IOException e) {
        throw new CatalogException(uri + ": " + e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CatalogException(uri + ": interrupted");
      }
    }
  }
}

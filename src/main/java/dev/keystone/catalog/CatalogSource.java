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
      return new Http(location.endsWith("/") ? location : location + "/", Http.WHOLE_ANSWER);
    }
    if (location.contains("://")) {
      throw new CatalogException("catalog " + location + ": a directory, an http(s):// URL or 'builtin' expected");
    }
    Path dir = Path.of(location).toAbsolutePath().normalize();
    if (!Files.isDirectory(dir)) {
      throw new CatalogException("catalog " + location + ": no such directory");
    }
    return new Directory(dir.toString(), dir); // absolute: the lock file records where it came from
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
        if (!Files.isRegularFile(file)) {
          // a fifo would block the command until someone writes to it; a device, forever
          throw new CatalogException(location + "/" + path + ": not a regular file");
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

  /**
   * An HTTP(S) catalog: GETs below the base URL; 10 s to connect and to the answer's head, 30 s for
   * the whole answer (a server that sends its head and then a byte now and then is cut off);
   * redirects followed, never from https to http.
   */
  record Http(String location, Duration wholeAnswer) implements CatalogSource {
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
        .followRedirects(HttpClient.Redirect.NORMAL).build();
    static final Duration WHOLE_ANSWER = Duration.ofSeconds(30);

    @Override
    public byte[] read(String path, int max) throws CatalogException {
      URI uri = URI.create(location + checked(path));
      java.util.concurrent.CompletableFuture<HttpResponse<InputStream>> sent = CLIENT.sendAsync(
          HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
      InputStream[] body = new InputStream[1];
      java.util.concurrent.CompletableFuture<byte[]> read = sent.thenApplyAsync(r -> {
        body[0] = r.body();
        try (InputStream in = r.body()) {
          if (r.statusCode() != 200) {
            throw new java.util.concurrent.CompletionException(new CatalogException(uri + ": HTTP " + r.statusCode()));
          }
          return bounded(in, max, uri.toString());
        } catch (IOException | CatalogException e) {
          throw new java.util.concurrent.CompletionException(e);
        }
      });
      try {
        return read.get(wholeAnswer.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        sent.cancel(true);
        closeQuietly(body[0]); // ends the blocked read, and the exchange
        throw new CatalogException(uri + ": no whole answer within " + wholeAnswer.toSeconds() + " s");
      } catch (java.util.concurrent.ExecutionException e) {
        Throwable c = e.getCause() instanceof java.util.concurrent.CompletionException ce && ce.getCause() != null
            ? ce.getCause() : e.getCause();
        if (c instanceof CatalogException ce) {
          throw ce;
        }
        throw new CatalogException(uri + ": " + (c == null ? e.getMessage() : c.getMessage()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        closeQuietly(body[0]);
        throw new CatalogException(uri + ": interrupted");
      }
    }

    private static void closeQuietly(InputStream in) {
      if (in != null) {
        try {
          in.close();
        } catch (IOException ignored) {
          // closing to end a read that is stuck
        }
      }
    }
  }
}

package dev.keystone.config;

/**
 * One problem found in a configuration file.
 *
 * @param file    the file it was found in
 * @param line    1-based line, or 0 when unknown
 * @param key     dotted path of the key, e.g. {@code tenants[1].services[0].url}
 * @param message what is wrong, and where possible how to fix it
 */
public record ConfigError(String file, int line, String key, String message) {

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(file);
    if (line > 0) {
      sb.append(':').append(line);
    }
    sb.append(": ");
    if (!key.isEmpty()) {
      sb.append(key).append(": ");
    }
    return sb.append(message).toString();
  }
}

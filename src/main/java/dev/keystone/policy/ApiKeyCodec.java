package dev.keystone.policy;

import dev.keystone.model.ApiKey;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * API keys as they are made and written down (a keys file, or one etcd key each): a key is
 * {@code ks_} and 32 random bytes (256 bits; URL-safe base64), kept only as its SHA-256 (a key
 * that random needs no slow hash: nothing guessable is left to try).
 */
public final class ApiKeyCodec {

  public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  private static final Pattern SCOPE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}");
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  /** A tenant's name as a key names it: printable, no control characters (attack s18-policy F7: a newline garbled the list). */
  private static final Pattern TENANT = Pattern.compile("[^\\p{Cntrl}]{1,256}");
  /** The longest a key may live: ten years. */
  public static final java.time.Duration MAX_LIFETIME = java.time.Duration.ofDays(3653);
  private static final SecureRandom RANDOM = new SecureRandom();

  private ApiKeyCodec() {
  }

  /** Whether {@code s} may be a scope: letters, digits and . _ : / - (no spaces), at most 64. */
  public static boolean validScope(String s) {
    return SCOPE.matcher(s).matches();
  }

  /** A new key, to be shown once. */
  public static String newKey() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return "ks_" + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** The SHA-256 of {@code key}, hex: what is stored and looked up. */
  public static String sha256(String key) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  public static JsonObject toJson(ApiKey k) {
    return new JsonObject().put("name", k.name()).put("sha256", k.sha256())
        .put("tenants", new JsonArray(k.tenants().stream().sorted().toList()))
        .put("scopes", new JsonArray(k.scopes().stream().sorted().toList()))
        .put("created_at", k.created().toString()).put("expires_at", k.expires() == null ? null : k.expires().toString());
  }

  /** The key {@code j} describes; IllegalArgumentException naming the field that is wrong. */
  public static ApiKey fromJson(JsonObject j) {
    String name = text(j, "name");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("name: 1-64 letters, digits, '.', '_' or '-', got '" + printable(name) + "'");
    }
    String sha = text(j, "sha256");
    if (!SHA256.matcher(sha).matches()) {
      throw new IllegalArgumentException("sha256: 64 lower-case hex digits");
    }
    Set<String> tenants = strings(j, "tenants", TENANT);
    if (tenants.isEmpty()) {
      throw new IllegalArgumentException("tenants: at least one tenant name (or \"*\" for all)");
    }
    Set<String> scopes = strings(j, "scopes", SCOPE);
    Instant created = instant(j, "created_at");
    Instant expires = j.getValue("expires_at") == null ? null : instant(j, "expires_at");
    return new ApiKey(name, sha, tenants, scopes, created == null ? Instant.EPOCH : created, expires);
  }

  private static String text(JsonObject j, String field) {
    if (!(j.getValue(field) instanceof String s)) {
      throw new IllegalArgumentException(field + ": missing (a string)");
    }
    return s;
  }

  private static Set<String> strings(JsonObject j, String field, Pattern each) {
    Object v = j.getValue(field);
    if (v == null) {
      return Set.of();
    }
    if (!(v instanceof JsonArray a) || a.size() > 1000) {
      throw new IllegalArgumentException(field + ": a list of at most 1000 strings");
    }
    Set<String> out = new LinkedHashSet<>();
    for (Object o : a) {
      if (!(o instanceof String s) || s.isEmpty() || s.length() > 256 || (each != null && !each.matcher(s).matches())) {
        throw new IllegalArgumentException(field + ": each a name (" + (each == TENANT ? "a tenant's, no control characters"
            : "such as orders:read") + "), got '" + printable(String.valueOf(o)) + "'");
      }
      out.add(s);
    }
    return out;
  }

  private static Instant instant(JsonObject j, String field) {
    Object v = j.getValue(field);
    if (v == null) {
      return null;
    }
    try {
      return Instant.parse(v.toString());
    } catch (java.time.format.DateTimeParseException e) {
      throw new IllegalArgumentException(field + ": a time such as 2026-12-31T00:00:00Z");
    }
  }

  private static String printable(String s) {
    String cut = s.length() > 64 ? s.substring(0, 64) + "..." : s;
    return cut.replaceAll("[^\\x20-\\x7e]", "?");
  }
}

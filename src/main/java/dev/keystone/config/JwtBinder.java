package dev.keystone.config;

import dev.keystone.model.JwtRule;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A tenant's {@code jwt}:
 * <pre>
 * jwt:
 *   issuer: https://auth.example.com/
 *   audiences: [orders-api]
 *   algorithms: [RS256]          # default; never none; HS* (with secret) never beside public-key ones
 *   jwks_url: https://auth.example.com/.well-known/jwks.json   # or jwks_file: FILE, or secret: ${SECRET}
 *   clock_skew: 60s              # at most 5m
 *   jwks_refresh: 10m
 *   header: Authorization        # Bearer TOKEN; another header carries the token alone
 *   required: true
 *   forward_claims: { sub: X-User-Id }
 * </pre>
 */
final class JwtBinder {

  static final Set<String> PUBLIC_KEY = Set.of("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
      "ES512", "EdDSA");
  static final Set<String> HMAC = Set.of("HS256", "HS384", "HS512");
  static final int MAX_JWKS_FILE = 1 << 20;

  private JwtBinder() {
  }

  static JwtRule bind(Section t, String source) {
    if (t.raw("jwt") == null) {
      return null;
    }
    Section j = t.section("jwt");
    Problems problems = t.problems();
    int before = problems.errors.size();
    String issuer = j.string("issuer", null);
    if (issuer == null || issuer.isBlank()) {
      problems.add(j.line(), j.keyPath("issuer"), "missing: the issuer tokens must name (their iss claim)");
    }
    List<String> audiences = new ArrayList<>(j.strings("audiences"));
    if (j.has("audience")) {
      audiences.add(j.string("audience", ""));
    }
    if (audiences.isEmpty() || audiences.stream().anyMatch(String::isBlank)) {
      problems.add(j.line(), j.keyPath("audiences"), "missing: the audiences a token must be for (its aud claim), such as [orders-api]");
    }
    List<String> algorithms = j.has("algorithms") ? j.strings("algorithms") : List.of("RS256");
    boolean hmac = false;
    boolean publicKey = false;
    for (String a : algorithms) {
      if (a.equalsIgnoreCase("none")) {
        problems.add(j.keyPath("algorithms"), "none is never accepted: an unsigned token proves nothing");
      } else if (HMAC.contains(a)) {
        hmac = true;
      } else if (PUBLIC_KEY.contains(a)) {
        publicKey = true;
      } else {
        problems.add(j.keyPath("algorithms"), "unknown algorithm '" + a + "' (RS256, ES256, PS256, EdDSA, HS256 and their sizes)");
      }
    }
    if (algorithms.isEmpty()) {
      problems.add(j.keyPath("algorithms"), "at least one algorithm");
    }
    if (hmac && publicKey) {
      problems.add(j.keyPath("algorithms"), "HMAC (HS*) and public-key algorithms never together: a public key"
          + " taken for an HMAC secret would let anyone sign tokens");
    }
    String url = j.string("jwks_url", null);
    String file = j.string("jwks_file", null);
    String secret = j.string("secret", null);
    String jwks = null;
    if (hmac) {
      if (secret == null || secret.getBytes(StandardCharsets.UTF_8).length < 32) {
        problems.add(j.keyPath("secret"), "HS* needs a secret of at least 32 bytes (write secret: ${JWT_SECRET})");
      }
      if (url != null || file != null) {
        problems.add(j.keyPath(url != null ? "jwks_url" : "jwks_file"), "HS* tokens are checked with the secret only");
      }
    } else {
      if (secret != null) {
        problems.add(j.keyPath("secret"), "only for HS* algorithms; public-key tokens are checked with jwks_url or jwks_file");
      }
      if ((url == null) == (file == null)) {
        problems.add(j.line(), j.keyPath("jwks_url"), "one of jwks_url (fetched and refreshed) or jwks_file: the issuer's public keys");
      }
      if (url != null) {
        String why = checkUrl(url);
        if (why != null) {
          problems.add(j.keyPath("jwks_url"), why);
        }
      }
      if (file != null) {
        jwks = jwksFile(j, ScriptFiles.baseDir(source, problems.inputs).resolve(file).normalize());
      }
    }
    Duration skew = j.duration("clock_skew", Duration.ofSeconds(60));
    if (skew.isNegative() || skew.compareTo(Duration.ofMinutes(5)) > 0) {
      problems.add(j.keyPath("clock_skew"), "between 0s and 5m");
    }
    Duration refresh = j.duration("jwks_refresh", Duration.ofMinutes(10));
    if (refresh.compareTo(Duration.ofSeconds(10)) < 0 || refresh.compareTo(Duration.ofDays(1)) > 0) {
      problems.add(j.keyPath("jwks_refresh"), "between 10s and 1d");
    }
    String header = j.string("header", "Authorization");
    boolean required = j.bool("required", true);
    Map<String, String> forward = new LinkedHashMap<>(j.stringMap("forward_claims"));
    for (Map.Entry<String, String> f : forward.entrySet()) {
      if (!dev.keystone.script.EditRules.isToken(f.getValue()) || f.getValue().equalsIgnoreCase(header)) {
        problems.add(j.keyPath("forward_claims"), "claim " + f.getKey() + ": a header name (not the token's), got '" + f.getValue() + "'");
      }
    }
    if (!dev.keystone.script.EditRules.isToken(header) || header.isEmpty()) {
      problems.add(j.keyPath("header"), "a header name, got '" + header + "'");
    }
    j.finish();
    if (problems.errors.size() > before) {
      return null;
    }
    return new JwtRule(issuer, audiences, algorithms, url, jwks, secret, skew, refresh, header, required, forward);
  }

  /** https, or http to this machine only (a key set fetched in the clear could be swapped on the way). */
  static String checkUrl(String url) {
    try {
      URI u = new URI(url);
      if ("https".equals(u.getScheme()) && u.getHost() != null) {
        return null;
      }
      String h = u.getHost();
      if ("http".equals(u.getScheme()) && ("127.0.0.1".equals(h) || "localhost".equals(h) || "[::1]".equals(h))) {
        return null;
      }
    } catch (java.net.URISyntaxException e) {
      // below
    }
    return "an https:// URL (http:// only to 127.0.0.1, ::1 or localhost), got '" + url + "'";
  }

  private static String jwksFile(Section j, Path file) {
    try {
      String text = new String(j.problems().inputs.read(file, MAX_JWKS_FILE), StandardCharsets.UTF_8);
      com.nimbusds.jose.jwk.JWKSet set = com.nimbusds.jose.jwk.JWKSet.parse(text);
      if (set.getKeys().isEmpty() || set.getKeys().size() > dev.keystone.policy.JwksCache.MAX_KEYS) {
        j.problems().add(j.keyPath("jwks_file"), file + " holds " + set.getKeys().size() + " keys: 1 to "
            + dev.keystone.policy.JwksCache.MAX_KEYS);
        return null;
      }
      return set.toPublicJWKSet().toString(); // public parts only: a private key given by mistake goes no further
    } catch (IOException e) {
      j.problems().add(j.keyPath("jwks_file"), "cannot read " + file + ": " + e.getMessage());
    } catch (java.text.ParseException e) {
      // not the parser's message: it quotes the file, which may be any file (attack s18-policy F6)
      j.problems().add(j.keyPath("jwks_file"), file + " is not a JWK set (JSON {\"keys\": [...]})");
    }
    return null;
  }
}

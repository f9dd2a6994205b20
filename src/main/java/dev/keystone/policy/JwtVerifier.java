package dev.keystone.policy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.ImmutableSecret;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.keystone.model.JwtRule;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Date;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Checks tokens for one tenant's {@code jwt} with Nimbus JOSE: the signature with a key of the
 * issuer's set (or the HMAC secret) under one of the configured algorithms only (the algorithm a
 * token names does not choose the kind of key: an RS256 key is never taken as an HS256 secret),
 * then iss exactly, aud one of the audiences, exp required, nbf and exp with the clock skew, on the
 * gateway's clock.
 */
public final class JwtVerifier {

  /** The claims of a valid token, or why it is not (and whether its key id was unknown). */
  public record Result(JWTClaimsSet claims, String error, boolean unknownKey) {
    public boolean valid() {
      return claims != null;
    }
  }

  /** The longest token looked at (a header can hold more; a real token is a few KB). */
  public static final int MAX_TOKEN = 16 * 1024;

  private final JwtRule rule;
  private final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();

  JwtVerifier(JwtRule rule, JwksCache cache, Clock clock) {
    this.rule = rule;
    Set<JWSAlgorithm> algorithms = new LinkedHashSet<>();
    rule.algorithms().forEach(a -> algorithms.add(JWSAlgorithm.parse(a)));
    JWKSource<SecurityContext> keys;
    if (rule.secret() != null) {
      keys = new ImmutableSecret<>(rule.secret().getBytes(StandardCharsets.UTF_8));
    } else if (rule.jwksJson() != null) {
      JWKSet set;
      try {
        set = JWKSet.parse(rule.jwksJson());
      } catch (java.text.ParseException e) {
        throw new IllegalArgumentException("jwks_file: not a JWK set", e); // checked when the config was read
      }
      keys = (selector, context) -> select(selector, set);
    } else {
      String url = rule.jwksUrl();
      keys = (selector, context) -> select(selector, cache.keys(url));
    }
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(algorithms, keys));
    // typ JWT, none, or at+jwt (RFC 9068 access tokens, attack s18-policy F9)
    processor.setJWSTypeVerifier(new com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier<>(
        com.nimbusds.jose.JOSEObjectType.JWT, new com.nimbusds.jose.JOSEObjectType("at+jwt"), null));
    DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(new HashSet<>(rule.audiences()),
        new JWTClaimsSet.Builder().issuer(rule.issuer()).build(), Set.of("exp"), null) {
      @Override
      protected Date currentTime() {
        return new Date(clock.millis());
      }
    };
    claims.setMaxClockSkew((int) rule.clockSkew().toSeconds());
    processor.setJWTClaimsSetVerifier(claims);
  }

  /**
   * The keys a token may be checked with: those its key id names; without a key id, the set's only
   * key. A token without a key id is not tried against every key of a large set (attack
   * s18-policy F4: 1,400 keys cost 100 ms of an event loop per token).
   */
  static java.util.List<com.nimbusds.jose.jwk.JWK> select(com.nimbusds.jose.jwk.JWKSelector selector, JWKSet set) {
    java.util.Set<String> ids = selector.getMatcher().getKeyIDs();
    if ((ids == null || ids.isEmpty() || ids.contains(null)) && set.getKeys().size() > 1) {
      return java.util.List.of();
    }
    return selector.select(set);
  }

  public Result verify(String token) {
    if (token.length() > MAX_TOKEN) {
      return new Result(null, "the token is longer than " + MAX_TOKEN + " characters", false);
    }
    try {
      return new Result(processor.process(token, null), null, false);
    } catch (BadJOSEException e) {
      boolean unknown = rule.jwksUrl() != null && e.getMessage() != null && e.getMessage().contains("no matching key");
      return new Result(null, e.getMessage(), unknown);
    } catch (com.nimbusds.jose.JOSEException | java.text.ParseException | RuntimeException e) {
      return new Result(null, "not a valid token: " + e.getMessage(), false);
    }
  }
}

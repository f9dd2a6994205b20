package dev.keystone.model;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A tenant's {@code jwt}: a bearer token signed by its issuer, checked before the request goes on.
 *
 * @param algorithms    the only signature algorithms accepted (never {@code none}; HMAC and
 *                      public-key algorithms never together)
 * @param jwksUrl       where the issuer publishes its public keys (fetched, cached, refreshed), or null
 * @param jwksJson      the public keys given in a file ({@code jwks_file}), or null
 * @param secret        the shared secret of HS256/384/512, or null
 * @param refresh       how often the JWKS is fetched again (and at most once per 10 s on an unknown key id)
 * @param header        where the token is: Authorization (as {@code Bearer TOKEN}) or another header (the token alone)
 * @param forwardClaims claim name to the request header that carries it to the backend
 */
public record JwtRule(String issuer, List<String> audiences, List<String> algorithms, String jwksUrl, String jwksJson,
                      String secret, Duration clockSkew, Duration refresh, String header, boolean required,
                      Map<String, String> forwardClaims) {

  public JwtRule {
    audiences = List.copyOf(audiences);
    algorithms = List.copyOf(algorithms);
    forwardClaims = Map.copyOf(forwardClaims);
  }

  /** Hides the secret (records print every field). */
  @Override
  public String toString() {
    return "JwtRule[issuer=" + issuer + ", audiences=" + audiences + ", algorithms=" + algorithms + ", jwksUrl=" + jwksUrl
        + (secret == null ? "" : ", secret=***") + "]";
  }
}

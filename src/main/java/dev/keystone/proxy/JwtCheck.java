package dev.keystone.proxy;

import com.nimbusds.jwt.JWTClaimsSet;
import dev.keystone.model.JwtRule;
import dev.keystone.policy.JwtVerifier;
import dev.keystone.policy.JwtVerifiers;

import java.util.List;
import java.util.Map;

/**
 * A tenant's {@code jwt}: the bearer token must be valid for the tenant's issuer and audiences
 * (see {@link JwtVerifier}). No token: 401 with a {@code Bearer} challenge (when required); a bad
 * one: 401 {@code error="invalid_token"}, the reason in the log only. The claims named in
 * {@code forward_claims} go to the backend (and the script) as headers, set by the gateway only: a
 * client's own values of those headers are removed first.
 */
final class JwtCheck implements Interceptor {

  /** A claim longer than this is not forwarded (a header is no place for a document). */
  static final int MAX_CLAIM = 1024;

  private final JwtVerifiers verifiers;

  JwtCheck(JwtVerifiers verifiers) {
    this.verifiers = verifiers;
  }

  @Override
  public void handle(Exchange ex) {
    JwtRule rule = ex.tenant().policies().jwt();
    if (rule == null) {
      ex.next();
      return;
    }
    RequestHead head = ex.head();
    rule.forwardClaims().values().forEach(h -> head.headers().remove(h));
    String realm = "Bearer realm=\"" + ex.tenant().name() + "\"";
    List<String> values = head.headers().getAll(rule.header());
    if (values.size() > 1) {
      ex.fail(ProxyError.BAD_REQUEST, "more than one " + rule.header() + " header");
      return;
    }
    String token = values.isEmpty() ? null : token(rule, values.get(0));
    if (token == null) {
      if (rule.required()) {
        ex.challenge = realm;
        ex.fail(ProxyError.UNAUTHORIZED, "tenant " + ex.tenant().name() + " needs a bearer token in " + rule.header());
      } else {
        ex.next();
      }
      return;
    }
    JwtVerifier.Result r = verifiers.verify(rule, token);
    if (!r.valid()) {
      ex.challenge = realm + ", error=\"invalid_token\"";
      ex.fail(ProxyError.UNAUTHORIZED, "invalid token for tenant " + ex.tenant().name() + ": " + r.error());
      return;
    }
    JWTClaimsSet claims = r.claims();
    ex.jwtSubject = claims.getSubject();
    for (Map.Entry<String, String> f : rule.forwardClaims().entrySet()) {
      Object v = claims.getClaim(f.getKey());
      String text = v instanceof String || v instanceof Number || v instanceof Boolean ? v.toString() : null;
      if (text != null && text.length() <= MAX_CLAIM && printable(text)) {
        head.headers().set(f.getValue(), text);
      }
    }
    ex.next();
  }

  /** The token in the header's value: after "Bearer " for Authorization, else the value itself. */
  private static String token(JwtRule rule, String value) {
    String v = value.trim();
    if (rule.header().equalsIgnoreCase("Authorization")) {
      if (v.length() < 7 || !v.regionMatches(true, 0, "Bearer ", 0, 7)) {
        return null;
      }
      v = v.substring(7).trim();
    }
    return v.isEmpty() ? null : v;
  }

  private static boolean printable(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x20 || c == 0x7f || c > 0xff) {
        return false;
      }
    }
    return true;
  }
}

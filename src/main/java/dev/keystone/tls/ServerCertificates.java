package dev.keystone.tls;

import dev.keystone.config.GatewayConfig;
import dev.keystone.config.ServerCertificate;
import dev.keystone.config.TenantConfig;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.Mapping;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Which certificate the TLS listener presents for the name a client's handshake asks for (SNI):
 * a tenant's exact domain first, then its wildcard domain ({@code *.example.com} for one more
 * label), then {@code tls_default}. A name no tenant serves, with no default, gets no context and
 * the handshake fails.
 *
 * <p>Built from a config at start and at each reload, before the config is applied, so a
 * certificate that cannot be loaded rejects the reload and the running ones stay. Contexts are
 * reused from the previous table for the same files' content: a reload of 10,000 tenants that
 * changes one certificate builds one context.
 */
public final class ServerCertificates implements Mapping<String, SslContext> {

  /** No TLS listener. */
  public static final ServerCertificates NONE = new ServerCertificates(Map.of(), Map.of(), null, Map.of(), List.of());

  /**
   * A certificate in service, for the admin API and metrics.
   *
   * @param tenant   the tenant's name, or null for {@code tls_default}
   * @param names    the DNS names the certificate is for
   * @param notAfter when it expires
   * @param issuer   its issuer's distinguished name
   */
  public record Served(String tenant, List<String> names, java.time.Instant notAfter, String issuer,
                       java.nio.file.Path certFile, java.nio.file.Path keyFile, String source) {
  }

  /** TLS 1.2 and 1.3 only: older versions have known weaknesses and no current client needs them. */
  static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
  /**
   * Forward-secret, authenticated-encryption suites only (Mozilla's "intermediate" list): Netty's
   * default list for the JDK also has static-RSA key exchange and CBC suites.
   */
  static final List<String> CIPHERS = List.of(
      "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

  private final Map<String, SslContext> exact;
  /** By the part after the wildcard's first label: {@code .example.com} for {@code *.example.com}. */
  private final Map<String, SslContext> wildcard;
  private final SslContext fallback;
  /** Every context by its PEM pair, for the next table to reuse. */
  private final Map<Pem, Built> built;
  /** The same by context: each handshake asks for its context's client-auth key and OCSP answer. */
  private final Map<SslContext, Built> byContext;
  private final List<Served> served;

  /** A context's inputs: the certificate, its key and the client certificates asked for (null: none). */
  private record Pem(String cert, String key, String clientCa, boolean clientRequired) {
  }

  /**
   * A context and its chain, the leaf first (parsed once per PEM pair, kept across reloads), and
   * what its handshakes prove of a client ({@link dev.keystone.config.ClientAuth#key}).
   */
  private record Built(SslContext context, java.security.cert.X509Certificate[] chain, String clientAuthKey) {
    java.security.cert.X509Certificate leaf() {
      return chain[0];
    }
  }

  private ServerCertificates(Map<String, SslContext> exact, Map<String, SslContext> wildcard, SslContext fallback,
                             Map<Pem, Built> built, List<Served> served) {
    this.exact = exact;
    this.wildcard = wildcard;
    this.fallback = fallback;
    this.built = built;
    this.served = served;
    // identity: a lookup per handshake, not a scan of every tenant's context (10,000 tenants)
    Map<SslContext, Built> by = new java.util.IdentityHashMap<>();
    built.values().forEach(b -> by.put(b.context(), b));
    this.byContext = by;
  }

  /**
   * The table for {@code config}, reusing {@code previous}'s contexts where the PEM is the same.
   *
   * @throws IllegalArgumentException naming the tenant whose certificate could not be loaded
   */
  public static ServerCertificates compile(GatewayConfig config, ServerCertificates previous) {
    return compile(config, previous, t -> null);
  }

  /**
   * The same, with the certificates of {@code tls: auto} tenants from {@code issued} (null for a
   * tenant whose certificate the CA has not issued yet: its names then get {@code tls_default},
   * or a failed handshake, until it has).
   */
  public static ServerCertificates compile(GatewayConfig config, ServerCertificates previous,
                                           java.util.function.Function<TenantConfig, ServerCertificate> issued) {
    if (!config.tls().enabled()) {
      return NONE;
    }
    Map<Pem, Built> built = new HashMap<>();
    Map<String, SslContext> exact = new HashMap<>();
    Map<String, SslContext> wildcard = new HashMap<>();
    List<Served> served = new java.util.ArrayList<>();
    for (TenantConfig t : config.tenants()) {
      ServerCertificate c = t.tls() != null && t.tls().auto() ? issued.apply(t) : t.tls();
      if (c == null) {
        continue;
      }
      Built b;
      try {
        b = context(c, t.clientAuth(), previous, built, "tenant " + t.name());
      } catch (IllegalArgumentException e) {
        if (!t.tls().auto()) {
          throw e; // a file the operator named: the reload is refused with the reason
        }
        // one unusable issued certificate must not refuse every later reload (attack s13b-6):
        // its names go without, as before it was issued
        java.util.logging.Logger.getLogger("keystone.acme").warning(e.getMessage() + ": not served");
        continue;
      }
      served.add(served(t.name(), c, b.leaf(), t.tls().local() ? "local" : t.tls().acme() ? "acme" : "file"));
      SslContext ctx = b.context();
      for (String d : t.domains()) {
        if (d.startsWith("*.")) {
          wildcard.putIfAbsent(d.substring(1), ctx);
        } else {
          exact.putIfAbsent(d, ctx); // the first tenant with a domain serves it, as routing does
        }
      }
    }
    ServerCertificate fb = config.tls().fallback();
    SslContext fallback = null;
    if (fb != null) {
      Built b = context(fb, null, previous, built, "tls_default");
      served.add(served(null, fb, b.leaf(), "file"));
      fallback = b.context();
    }
    return new ServerCertificates(Map.copyOf(exact), Map.copyOf(wildcard), fallback, built, List.copyOf(served));
  }

  private static Served served(String tenant, ServerCertificate c, java.security.cert.X509Certificate leaf, String source) {
    List<String> names = dev.keystone.config.CertificateNames.dnsNames(leaf);
    return new Served(tenant, List.copyOf(names), leaf.getNotAfter().toInstant(), leaf.getIssuerX500Principal().getName(),
        c.certFile(), c.keyFile(), source);
  }

  private static Built context(ServerCertificate c, dev.keystone.config.ClientAuth clients, ServerCertificates previous,
                               Map<Pem, Built> built, String what) {
    Pem key = new Pem(c.certPem(), c.keyPem(), clients == null ? null : clients.caPem(), clients != null && clients.required());
    Built b = built.get(key);
    if (b == null && previous != null) {
      b = previous.built.get(key);
    }
    if (b == null) {
      SslContext ctx;
      java.security.cert.X509Certificate[] chain;
      java.security.cert.X509Certificate leaf;
      try {
        chain = java.security.cert.CertificateFactory.getInstance("X.509")
            .generateCertificates(new ByteArrayInputStream(c.certPem().getBytes(StandardCharsets.ISO_8859_1)))
            .toArray(new java.security.cert.X509Certificate[0]);
        leaf = chain[0];
        java.security.PrivateKey pk = dev.keystone.config.PemKeys.fromPem(c.keyPem());
        if (pk == null || !dev.keystone.config.PemKeys.signsFor(pk, leaf)) {
          throw new IllegalArgumentException("the key is not the certificate's");
        }
        ctx = SslContextBuilder.forServer(
                new ByteArrayInputStream(c.certPem().getBytes(StandardCharsets.ISO_8859_1)),
                new ByteArrayInputStream(c.keyPem().getBytes(StandardCharsets.ISO_8859_1)))
            .sslProvider(TlsEngine.provider())
            .protocols(PROTOCOLS)
            .ciphers(CIPHERS, io.netty.handler.ssl.SupportedCipherSuiteFilter.INSTANCE)
            .enableOcsp(TlsEngine.provider() != SslProvider.JDK) // stapled per handshake (OcspStaples)
            .clientAuth(clients == null ? ClientAuth.NONE : clients.required() ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL)
            .trustManager(clients == null ? null
                : new ByteArrayInputStream(clients.caPem().getBytes(StandardCharsets.ISO_8859_1)))
            .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2,
                ApplicationProtocolNames.HTTP_1_1))
            .build();
      } catch (Exception e) {
        throw new IllegalArgumentException(what + ": the certificate " + c.certFile() + " with the key " + c.keyFile()
            + " cannot be used: " + e.getMessage(), e);
      }
      b = new Built(ctx, chain, dev.keystone.config.ClientAuth.keyOf(clients));
    }
    built.put(key, b);
    return b;
  }

  /** The chains of the contexts in service (the leaf first), each once. */
  public List<java.security.cert.X509Certificate[]> chains() {
    return built.values().stream().map(Built::chain).toList();
  }

  /** What a handshake with {@code context} proves of its client ("" for nothing, null for a context not in this table). */
  public String clientAuthKey(SslContext context) {
    Built b = byContext.get(context);
    return b == null ? null : b.clientAuthKey();
  }

  /** The OCSP answer {@code staples} has for {@code context}'s certificate, or null. */
  public byte[] staple(SslContext context, OcspStaples staples) {
    Built b = byContext.get(context);
    return b == null ? null : staples.staple(b.leaf());
  }

  /** The certificates in service: one per tenant with {@code tls}, and {@code tls_default} (tenant null) last. */
  public List<Served> served() {
    return served;
  }

  /**
   * The context for the server name a client asked for; null when none serves it (the handshake
   * then fails). {@code name} is null when the client sent no name.
   */
  @Override
  public SslContext map(String name) {
    if (name != null) {
      String n = name.toLowerCase(Locale.ROOT);
      if (n.endsWith(".")) {
        n = n.substring(0, n.length() - 1);
      }
      SslContext ctx = exact.get(n);
      if (ctx != null) {
        return ctx;
      }
      int dot = n.indexOf('.');
      if (dot > 0) {
        ctx = wildcard.get(n.substring(dot));
        if (ctx != null) {
          return ctx;
        }
      }
    }
    return fallback;
  }

  /** How many distinct certificates are loaded (for the log and the admin API). */
  public int size() {
    return built.size();
  }

  /** The names served, for the start-up log. */
  public List<String> names() {
    List<String> out = new java.util.ArrayList<>(exact.keySet());
    wildcard.keySet().forEach(w -> out.add("*" + w));
    java.util.Collections.sort(out);
    return out;
  }
}

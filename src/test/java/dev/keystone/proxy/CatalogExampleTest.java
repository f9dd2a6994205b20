package dev.keystone.proxy;

import dev.keystone.catalog.Catalog;
import dev.keystone.catalog.CatalogSource;
import dev.keystone.catalog.Installed;
import dev.keystone.catalog.LockFile;
import dev.keystone.gateway.GatewayOptions;
import dev.keystone.testing.TestBackend;
import dev.keystone.testing.TestGateway;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * examples/catalog (the README tour's catalog step): its installed entries are the bundled
 * catalog's, byte for byte (so the example never drifts from the catalog), they verify, and the
 * gateway started on its keystone.yaml limits a key to 3 requests a minute and rewrites headers.
 */
class CatalogExampleTest {

  static final Path EXAMPLE = Path.of("examples/catalog").toAbsolutePath();

  Vertx vertx;
  TestBackend backend;
  TestGateway gw;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    backend = new TestBackend(vertx, "app");
    backend.handler(req -> req.response().putHeader("Server", "demo").end("hello from " + req.path()
        + " real-ip=" + req.getHeader("X-Real-IP")));
  }

  @AfterEach
  void stop() {
    if (gw != null) {
      gw.close();
    }
    vertx.close();
  }

  @Test
  void theInstalledEntriesAreTheBundledCatalogsAndTheyVerify() throws Exception {
    Installed installed = new Installed(EXAMPLE);
    Catalog builtin = new Catalog(CatalogSource.open("builtin"), null);
    List<String> pinned = new ArrayList<>();
    for (LockFile.Pinned p : installed.lock().scripts().values()) {
      pinned.add(p.id());
      assertThat(p.sha256()).as(p.id() + " pinned in examples/catalog: reinstall it from the catalog")
          .isEqualTo(builtin.index().find(p.name(), p.version()).sha256());
      assertThat(installed.read(p.name(), p.version()).sha256()).isEqualTo(p.sha256());
    }
    assertThat(pinned).containsExactly("header-rewrite@1.0.0", "rate-limit-header@1.0.0");
  }

  @Test
  void theTourRuns() {
    gw = TestGateway.startFile(EXAMPLE.resolve("keystone.yaml"), Map.of("DEMO_URL", backend.url() + "/web"),
        new GatewayOptions(2, "test", Clock.systemUTC()));
    List<Integer> codes = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      codes.add(gw.get("/api/hello", "X-API-Key", "k1").statusCode());
    }
    assertThat(codes).containsExactly(200, 200, 200, 429);
    HttpResponse<String> site = gw.get("/site/page");
    assertThat(site.body()).isEqualTo("hello from /web/page real-ip=127.0.0.1");
    assertThat(site.headers().firstValue("X-Frame-Options")).hasValue("DENY");
    assertThat(site.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
    assertThat(site.headers().firstValue("Server")).isEmpty();
  }
}

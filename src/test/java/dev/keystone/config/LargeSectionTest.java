package dev.keystone.config;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A section with many keys (a labels map) binds whole, and unknown keys are still found around it. */
class LargeSectionTest {

  /** One tenant whose service has {@code extra} (a line of its own, or "") and {@code labels} labels k0: v0 ... */
  private static String withLabels(String extra, int labels) {
    StringBuilder yaml = new StringBuilder("""
        tenants:
          - name: t
            path_prefix: /t/
            services:
              - name: s
                url: http://127.0.0.1:9
        """).append(extra).append("        labels:\n");
    for (int i = 0; i < labels; i++) {
      yaml.append("          k").append(i).append(": v").append(i).append('\n');
    }
    return yaml.toString();
  }

  @Test
  void aThousandLabelsAreAllBound() throws Exception {
    Map<String, String> expected = new LinkedHashMap<>();
    for (int i = 0; i < 1000; i++) {
      expected.put("k" + i, "v" + i);
    }
    GatewayConfig c = new ConfigLoader(k -> null).parse(withLabels("", 1000), "big.yaml");
    assertThat(c.tenants().get(0).services().get(0).labels()).containsExactlyInAnyOrderEntriesOf(expected);
  }

  @Test
  void anUnknownKeyBesideManyLabelsIsReported() {
    assertThatThrownBy(() -> new ConfigLoader(k -> null).parse(withLabels("        colour: blue\n", 100), "big.yaml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("big.yaml:7")
        .hasMessageContaining("tenants[0].services[0].colour")
        .hasMessageContaining("unknown key");
  }
}

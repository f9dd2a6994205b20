package dev.keystone.rollout;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.logging.Logger;

/**
 * Rollouts kept in a JSON file (the data directory's {@code rollouts.json}), written whole to a
 * temporary file and moved into place after each change, so a crash leaves the old file or the
 * new one. Null: kept in memory only.
 */
final class RolloutStore {

  private static final Logger LOG = Logger.getLogger(RolloutStore.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path file;

  RolloutStore(Path file) {
    this.file = file;
  }

  List<Rollout> read(List<String> problems) {
    List<Rollout> out = new ArrayList<>();
    if (file == null || !Files.exists(file)) {
      return out;
    }
    JsonNode root;
    try {
      root = JSON.readTree(Files.readAllBytes(file));
    } catch (IOException e) {
      problems.add(file + ": not readable as JSON (" + e.getMessage() + "); rollouts start empty");
      return out;
    }
    for (JsonNode n : root.path("rollouts")) {
      try {
        for (String number : List.of("step", "interval_ms", "min_requests")) {
          if (!n.path(number).isIntegralNumber()) {
            throw new IllegalArgumentException(number + ": not a whole number");
          }
        }
        List<Integer> steps = new ArrayList<>();
        n.path("steps").forEach(s -> steps.add(s.intValue()));
        RolloutPlan plan = new RolloutPlan(n.path("tenant").asText(), n.path("canary").asText(), steps,
            Duration.ofMillis(n.path("interval_ms").asLong()), n.path("max_5xx").asDouble(),
            n.hasNonNull("max_p99_ms") ? Duration.ofMillis(n.path("max_p99_ms").asLong()) : null,
            n.path("min_requests").asInt(), text(n, "pin_header"), text(n, "pin_cookie"));
        out.add(Rollout.restored(plan, Instant.parse(n.path("started").asText()),
            Rollout.State.valueOf(n.path("state").asText().toUpperCase()), n.path("step").asInt(),
            Instant.parse(n.path("step_started").asText()), text(n, "reason")));
      } catch (RuntimeException e) {
        problems.add(file + ": a rollout left out (" + e.getMessage() + ")");
      }
    }
    return out;
  }

  private static String text(JsonNode n, String field) {
    return n.hasNonNull(field) ? n.get(field).asText() : null;
  }

  void write(Collection<Rollout> rollouts) {
    if (file == null) {
      return;
    }
    ObjectNode root = JSON.createObjectNode();
    ArrayNode list = root.putArray("rollouts");
    for (Rollout r : rollouts) {
      RolloutPlan p = r.plan;
      ObjectNode n = list.addObject().put("tenant", p.tenant()).put("canary", p.canary());
      p.steps().forEach(n.putArray("steps")::add);
      n.put("interval_ms", p.interval().toMillis()).put("max_5xx", p.maxErrorRate())
          .put("max_p99_ms", p.maxP99() == null ? null : p.maxP99().toMillis()).put("min_requests", p.minRequests())
          .put("pin_header", p.pinHeader()).put("pin_cookie", p.pinCookie())
          .put("state", r.state().name().toLowerCase()).put("step", r.step())
          .put("started", r.started.toString()).put("step_started", r.stepStarted().toString()).put("reason", r.reason());
    }
    try {
      Files.createDirectories(file.getParent());
      Path tmp = Files.createTempFile(file.getParent(), "rollouts", ".tmp");
      Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      LOG.warning("rollouts: cannot write " + file + " (" + e.getMessage() + "): a restart would not find them");
    }
  }
}

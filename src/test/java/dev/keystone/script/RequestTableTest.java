package dev.keystone.script;

import org.junit.jupiter.api.Test;
import org.luaj.vm2.LuaValue;

import java.time.Clock;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The request table a script reads is built with shortcuts (ASCII copied as it is, values that
 * repeat converted once): the script must still see exactly each request's own values.
 */
class RequestTableTest {

  @Test
  void asciiShortcutGivesTheSameBytesAsLuaJ() {
    for (String s : List.of("", "GET", "/a/b?c=d", "caf\u00e9", "\u00ff\u0080x", "snow \u2603", "emoji \ud83d\ude00",
        "lone \ud800 surrogate", "lone low \udc00", "?", "tab\tand\u007f")) {
      assertThat(LuaTables.string(s).raweq(LuaValue.valueOf(s))).as(s).isTrue();
      assertThat(LuaTables.string(s).tojstring()).as(s).isEqualTo(LuaValue.valueOf(s).tojstring());
    }
  }

  @Test
  void eachRequestSeesItsOwnValues() throws Exception {
    String source = "function on_request(req)\n"
        + "  respond(200, req.method .. ' ' .. req.host .. ' ' .. req.tenant .. ' ' .. req.client_ip .. ' '"
        + " .. req.path .. ' ' .. req.raw_path .. ' ' .. req.query_string .. ' ' .. (req.headers['x-v'] or '-'))\n"
        + "end\n";
    RequestScript rs = new RequestScript(LuaScript.compile("t", "t.lua", source),
        new ScriptEnvironment(Clock.systemUTC(), () -> 0.5, ScriptLimits.DEFAULT, KeyValueStore.Limits.DEFAULT));
    KeyValueStore kv = null;
    assertThat(rs.decide(new ScriptRequest("GET", "/x", "/p/x", null, "a.example", "10.0.0.1", "one", "r1",
        List.of(Map.entry("X-V", "1")), List.of(), kv)).body()).isEqualTo("GET a.example one 10.0.0.1 /x /p/x  1");
    assertThat(rs.decide(new ScriptRequest("PUT", "/y", "/y", "q=1", "b.example", "10.0.0.2", "two", "r2",
        List.of(Map.entry("x-v", "caf\u00e9")), List.of(), kv)).body())
        .isEqualTo("PUT b.example two 10.0.0.2 /y /y q=1 caf\u00e9");
    assertThat(rs.decide(new ScriptRequest("POST", "/z", "/z", null, "a.example", "10.0.0.1", "one", "r3",
        List.of(), List.of(), kv)).body()).isEqualTo("POST a.example one 10.0.0.1 /z /z  -");
  }
}

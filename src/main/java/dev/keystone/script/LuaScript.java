package dev.keystone.script;

import org.luaj.vm2.Globals;
import org.luaj.vm2.LuaError;
import org.luaj.vm2.Prototype;
import org.luaj.vm2.compiler.LuaC;

import java.io.IOException;
import java.io.StringReader;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A script compiled once, at config load: its name and the compiled chunk. Immutable and shared
 * by every event loop; each loop runs it in its own {@link ScriptState}.
 */
public final class LuaScript {

  /** A script that does not compile; the message names the file and line. */
  public static final class SyntaxError extends Exception {
    SyntaxError(String message) {
      super(message, null, false, false);
    }
  }

  private static final Globals COMPILER = compiler();

  private final String name;
  private final Prototype chunk;

  private LuaScript(String name, Prototype chunk) {
    this.name = name;
    this.chunk = chunk;
  }

  private static Globals compiler() {
    Globals g = new Globals();
    LuaC.install(g);
    return g;
  }

  /**
   * Compiles {@code source}; {@code chunkName} (usually the file name) prefixes every error
   * message and line number the script produces.
   */
  public static LuaScript compile(String name, String chunkName, String source) throws SyntaxError {
    try {
      synchronized (COMPILER) {
        // '@' marks the chunk name as a file name: messages read "file.lua:3: ..."
        return new LuaScript(name, COMPILER.compilePrototype(new StringReader(source), "@" + chunkName));
      }
    } catch (LuaError | IOException e) {
      throw new SyntaxError(readable(e.getMessage()));
    }
  }

  /** LuaJ's lexer reports a reserved word by its token number ("unexpected symbol 262 (Ć)"). */
  static String readable(String message) {
    Matcher m = TOKEN.matcher(message);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      int index = Integer.parseInt(m.group(1)) - 257;
      String token = index >= 0 && index < TOKENS.length ? TOKENS[index] : m.group(1);
      m.appendReplacement(sb, Matcher.quoteReplacement("symbol '" + token + "'"));
    }
    m.appendTail(sb);
    return sb.toString();
  }

  private static final Pattern TOKEN = Pattern.compile("symbol (\\d{3}) \\(.\\)");
  private static final String[] TOKENS = {
      "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
      "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while", "..", "...",
      "==", ">=", "<=", "~=", "::", "<eof>", "<number>", "<name>", "<string>"};

  public String name() {
    return name;
  }

  Prototype chunk() {
    return chunk;
  }
}

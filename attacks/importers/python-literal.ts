/**
 * Parses a Python literal as `repr()` writes it — dicts, lists, tuples, strings in either quote, numbers,
 * True/False/None — which is how InjecAgent stores tool parameters. Throws with the position on anything else.
 */
export function parsePythonLiteral(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at position ${i} of ${JSON.stringify(text.slice(0, 80))}`);
  };
  const space = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const value = (): unknown => {
    space();
    const c = text[i];
    if (c === "{") return dict();
    if (c === "[" || c === "(") return list(c === "[" ? "]" : ")");
    if (c === "'" || c === '"') return string(c);
    const word = /^(True|False|None|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i));
    if (!word) return fail("unexpected character");
    i += word[0].length;
    return word[0] === "True" ? true : word[0] === "False" ? false : word[0] === "None" ? null : Number(word[0]);
  };
  const string = (quote: string): string => {
    let out = "";
    i++;
    while (i < text.length && text[i] !== quote) {
      if (text[i] === "\\") {
        const next = text[i + 1] ?? "";
        out += next === "n" ? "\n" : next === "t" ? "\t" : next;
        i += 2;
      } else out += text[i++];
    }
    if (text[i] !== quote) fail("unterminated string");
    i++;
    return out;
  };
  const list = (close: string): unknown[] => {
    const out: unknown[] = [];
    i++;
    for (space(); text[i] !== close; space()) {
      out.push(value());
      space();
      if (text[i] === ",") i++;
      else if (text[i] !== close) fail(`expected , or ${close}`);
    }
    i++;
    return out;
  };
  const dict = (): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    i++;
    for (space(); text[i] !== "}"; space()) {
      const key = value();
      space();
      if (text[i] !== ":") fail("expected :");
      i++;
      out[String(key)] = value();
      space();
      if (text[i] === ",") i++;
      else if (text[i] !== "}") fail("expected , or }");
    }
    i++;
    return out;
  };
  const result = value();
  space();
  if (i !== text.length) fail("trailing text");
  return result;
}

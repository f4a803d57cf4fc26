// Parse Mermaid flowcharts with Mermaid's own parser. stdin: a JSON array of diagram
// texts; stdout: a JSON array of {"ok": true, "type", "config", "vertices", "edges", "subgraphs"}
// (what Mermaid's flowchart database holds after parsing, labels decoded) or
// {"ok": false, "error"}. mermaid needs a DOM (DOMPurify): jsdom gives one; nothing
// is rendered.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });

const NAMED = { quot: '"', lt: "<", gt: ">", amp: "&" };
// Mermaid keeps entity codes (#35; #quot;) as placeholders until it renders: decode them.
const decode = (text) =>
  String(text ?? "")
    .replace(/ﬂ°°(\d+)¶ß/g, (_, code) => String.fromCodePoint(Number(code)))
    .replace(/ﬂ°(\w+)¶ß/g, (_, name) => NAMED[name] ?? `&${name};`);

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const text of JSON.parse(input)) {
  try {
    const parsed = await mermaid.parse(text); // throws on a syntax error
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const db = diagram.db;
    results.push({
      ok: true,
      type: diagram.type,
      config: parsed.config, // what %%{init}%% directives in the text would configure
      vertices: [...db.getVertices().values()].map((v) => ({
        id: v.id,
        text: decode(v.text),
        type: v.type ?? null,
        classes: v.classes,
      })),
      edges: db.getEdges().map((e) => ({
        start: e.start,
        end: e.end,
        text: decode(e.text),
        stroke: e.stroke,
        style: e.style ?? [],
      })),
      subgraphs: db.getSubGraphs().map((s) => ({
        id: s.id,
        title: decode(s.title),
        nodes: s.nodes,
        classes: s.classes,
      })),
    });
  } catch (error) {
    results.push({ ok: false, error: String(error?.message ?? error) });
  }
}
process.stdout.write(JSON.stringify(results));

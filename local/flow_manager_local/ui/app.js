// Flow Manager's local console: plain JavaScript, no build step, no network but this
// origin. Pages by hash: #/ (flows), #/flows/<id>, #/executions/<id>. It calls the API
// routes the CLI calls. Everything the API says (flow names, task results, errors) is
// client data: it is put in the page as text (textContent, DOM nodes), never as HTML,
// and diagrams are drawn by Mermaid with securityLevel 'strict'.
"use strict";

(function () {
  const REFRESH_MS = 1500;
  const STATUSES = ["running", "completed", "failed", "aborted", "timed_out"];
  const RETRYABLE = ["failed", "aborted", "timed_out"];
  const view = document.getElementById("view");
  const crumbs = document.getElementById("crumbs");
  const notice = document.getElementById("notice");
  let generation = 0; // bumped on every navigation: late answers of an old page are dropped
  let timer = null;
  let diagramCount = 0;

  // Mermaid's bundle runs after this script (both deferred, in order): the page's API
  // requests go out while it is parsed; drawing waits for it.
  const mermaidReady = new Promise((resolve, reject) => {
    let settled = false;
    function ready() {
      if (settled) return;
      settled = true;
      if (!window.mermaid) {
        reject(new Error("Mermaid did not load"));
        return;
      }
      window.mermaid.initialize({
        startOnLoad: false,
        securityLevel: "strict",
        theme: "default",
        flowchart: { useMaxWidth: true },
      });
      resolve(window.mermaid);
    }
    if (window.mermaid) ready();
    else {
      document.addEventListener("DOMContentLoaded", ready); // after every deferred script
      window.addEventListener("load", ready);
    }
  });
  mermaidReady.catch(() => {}); // reported where a diagram is drawn

  // ---- DOM helpers: text only ----------------------------------------------------------

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** Replace `node`'s children (null and false leave nothing, unlike replaceChildren). */
  function fill(node, ...children) {
    node.replaceChildren();
    return append(node, children);
  }

  function link(hash, text) {
    return el("a", { href: hash }, text);
  }

  function status(value, id) {
    return el("span", { class: `status status-${value}`, id, dataset: { status: value } }, value);
  }

  function json(value) {
    return el("pre", {}, value === undefined ? "" : JSON.stringify(value, null, 2));
  }

  function table(headers, rows, attributes) {
    return el(
      "table",
      attributes,
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
      el("tbody", {}, rows),
    );
  }

  function facts(pairs) {
    return el(
      "dl",
      { class: "facts" },
      pairs.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([k, v]) => [
        el("dt", {}, k),
        el("dd", {}, v),
      ]),
    );
  }

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  function setCrumbs(...parts) {
    fill(crumbs, ...parts.flatMap((p, i) => (i ? [" / ", p] : [p])));
  }

  function seconds(value) {
    return typeof value === "number" ? `${value.toFixed(3)} s` : "";
  }

  // ---- the API -------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      super(describeError(status, body));
      this.status = status;
      this.body = body;
    }
  }

  function describeError(status, body) {
    const error = body && typeof body === "object" ? body.error || body : null;
    if (!error || typeof error !== "object") return `HTTP ${status}`;
    const lines = [`${status} ${error.code || ""}: ${error.message || ""}`.trim()];
    for (const detail of Array.isArray(error.details) ? error.details : []) {
      if (detail && typeof detail === "object") {
        const where = detail.location || detail.path || detail.field || "";
        lines.push(`  ${where}${where ? ": " : ""}${detail.message || JSON.stringify(detail)}`);
      }
    }
    return lines.join("\n");
  }

  async function api(method, path, body, accept) {
    const options = { method, headers: { Accept: accept || "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch (_) {
      parsed = text;
    }
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed;
  }

  const enc = encodeURIComponent;

  // ---- diagrams ------------------------------------------------------------------------

  const drawnText = new WeakMap(); // diagram container → the text it shows

  /** Draw the diagram at `path` in `container`; its data-state says "drawn" only once
   * the current one is (a report that changed marks the old drawing "loading" at once). */
  async function drawDiagram(container, path, page) {
    container.dataset.state = "loading";
    try {
      const answer = await api("GET", path);
      if (page !== generation) return;
      const text = answer && typeof answer.mermaid === "string" ? answer.mermaid : "";
      if (drawnText.get(container) === text) {
        container.dataset.state = "drawn"; // unchanged: keep the drawing
        return;
      }
      const mermaid = await mermaidReady;
      if (page !== generation) return;
      const holder = el("div", { class: "mermaid", id: `diagram-${++diagramCount}` }, text);
      fill(container, holder);
      container.dataset.state = "drawing";
      await mermaid.run({ nodes: [holder] });
      if (page !== generation) return;
      drawnText.set(container, text);
      container.dataset.state = "drawn";
    } catch (error) {
      if (page !== generation) return;
      container.dataset.state = "error";
      fill(container, el("p", { class: "error" }, `diagram: ${error.message || error}`));
    }
  }

  // ---- pages ---------------------------------------------------------------------------

  async function flowsPage(page) {
    setCrumbs(el("span", {}, "flows"));
    const rows = el("tbody");
    const more = el("button", { type: "button", hidden: true }, "More");
    let token = null;
    async function load() {
      const query = token ? `?next_token=${enc(token)}` : "";
      const answer = await api("GET", `/flows${query}`);
      if (page !== generation) return;
      for (const flow of answer.flows || []) {
        rows.append(
          el(
            "tr",
            { dataset: { flow: flow.flow_id } },
            el("td", {}, link(`#/flows/${enc(flow.flow_id)}`, flow.flow_id)),
            el("td", {}, flow.name),
            el("td", { class: "num" }, flow.version),
            el("td", {}, flow.updated_at || flow.created_at || ""),
          ),
        );
      }
      token = answer.next_token || null;
      more.hidden = !token;
    }
    more.addEventListener("click", () => load().catch((e) => showNotice(e.message)));
    await load();
    const list = rows.children.length
      ? el(
          "table",
          { id: "flows" },
          el("thead", {}, el("tr", {}, ["flow", "name", "version", "updated"].map((h) => el("th", {}, h)))),
          rows,
        )
      : el("p", { class: "muted", id: "flows" }, "No flows yet: create one with POST /flows or `flow-manager run FILE`.");
    fill(view, el("h1", {}, "Flows"), list, more);
  }

  async function flowPage(page, flowId) {
    setCrumbs(link("#/", "flows"), el("span", {}, flowId));
    const flow = await api("GET", `/flows/${enc(flowId)}`);
    if (page !== generation) return;
    const diagram = el("div", { class: "diagram", id: "diagram", dataset: { state: "loading" } });
    const versions = [];
    for (let v = flow.version; v >= 1; v -= 1) versions.push(v);
    const executions = el("div", { id: "executions" });
    const filter = el(
      "select",
      { id: "status-filter", "aria-label": "status" },
      el("option", { value: "" }, "any status"),
      STATUSES.map((s) => el("option", { value: s }, s)),
    );
    filter.addEventListener("change", () => loadExecutions());

    async function loadExecutions() {
      const query = filter.value ? `?status=${enc(filter.value)}` : "";
      try {
        const answer = await api("GET", `/flows/${enc(flowId)}/executions${query}`);
        if (page !== generation) return;
        const items = answer.executions || [];
        fill(executions,
          items.length
            ? table(
                ["execution", "status", "version", "started", "ended"],
                items.map((e) =>
                  el(
                    "tr",
                    { dataset: { execution: e.execution_id } },
                    el("td", {}, link(`#/executions/${enc(e.execution_id)}`, e.execution_id)),
                    el("td", {}, status(e.status)),
                    el("td", { class: "num" }, e.flow_version ?? ""),
                    el("td", {}, e.start_time || ""),
                    el("td", {}, e.end_time || ""),
                  ),
                ),
              )
            : el("p", { class: "muted" }, "No executions" + (filter.value ? ` ${filter.value}` : "") + "."),
        );
      } catch (error) {
        fill(executions, el("p", { class: "error" }, error.message));
      }
    }

    fill(view,
      el("h1", {}, flow.name || flowId),
      facts([
        ["id", flow.flow_id],
        ["description", flow.flow && flow.flow.description],
        ["version", `${flow.version} (current)`],
        ["created", flow.created_at],
        ["updated", flow.updated_at],
        ["state machine", flow.state_machine_arn],
      ]),
      el("h2", {}, "Start an execution"),
      startPanel(flowId),
      el("h2", {}, "Diagram"),
      diagram,
      el("h2", {}, "Versions"),
      el(
        "p",
        { id: "versions" },
        versions.map((v, i) => [i ? ", " : "", `v${v}`, v === flow.version ? " (current)" : ""]),
      ),
      el("h2", {}, "Executions"),
      el("div", { class: "filters" }, el("label", {}, "Status ", filter)),
      executions,
    );
    await Promise.all([drawDiagram(diagram, `/flows/${enc(flowId)}/diagram`, page), loadExecutions()]);
  }

  function contextEditor(id, initial) {
    return el("textarea", { id, spellcheck: "false", "aria-label": "context (JSON)" }, initial);
  }

  /** The JSON object in `textarea`, or null after showing why it is not one. */
  function readContext(textarea, problem) {
    let value;
    try {
      value = JSON.parse(textarea.value);
    } catch (error) {
      problem.textContent = `context is not JSON: ${error.message}`;
      return null;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      problem.textContent = "context must be a JSON object: {...}";
      return null;
    }
    problem.textContent = "";
    return value;
  }

  function startPanel(flowId) {
    const editor = contextEditor("start-context", "{}");
    const problem = el("p", { class: "error", id: "start-error" });
    const button = el("button", { type: "button", id: "start" }, "Start");
    button.addEventListener("click", async () => {
      const context = readContext(editor, problem);
      if (context === null) return;
      button.disabled = true;
      try {
        const started = await api("POST", `/flows/${enc(flowId)}/executions`, { context });
        location.hash = `#/executions/${enc(started.execution_id)}`;
      } catch (error) {
        problem.textContent = error.message;
      } finally {
        button.disabled = false;
      }
    });
    return el(
      "div",
      { class: "panel" },
      el("label", { for: "start-context" }, "Context (JSON object)"),
      editor,
      el("div", { class: "actions" }, button),
      problem,
    );
  }

  async function executionPage(page, executionId) {
    const header = el("div", { id: "execution-facts" });
    const actions = el("div", { id: "execution-actions" });
    const diagram = el("div", { class: "diagram", id: "diagram", dataset: { state: "loading" } });
    const trace = el("div", { id: "path" });
    const results = el("div", { id: "task-results" });
    const output = el("div", { id: "output" });
    let shown = null; // the report's JSON as last drawn
    let actionsKey = null;

    async function refresh() {
      const report = await api("GET", `/executions/${enc(executionId)}`);
      if (page !== generation) return;
      const text = JSON.stringify(report);
      if (text !== shown) {
        shown = text;
        setCrumbs(
          link("#/", "flows"),
          link(`#/flows/${enc(report.flow_id)}`, report.flow_id),
          el("span", {}, executionId),
        );
        fill(header, executionFacts(report));
        const key = JSON.stringify([report.status, report.waiting_for]);
        if (key !== actionsKey) {
          actionsKey = key;
          fill(actions, executionActions(report));
        }
        fill(trace, pathTable(report.path || []));
        fill(results, resultsTable(report));
        fill(output,
          el("h3", {}, "Context"),
          json(report.context),
          report.output !== null && report.output !== undefined ? [el("h3", {}, "Output"), json(report.output)] : null,
        );
        await drawDiagram(diagram, `/executions/${enc(executionId)}/diagram`, page);
      }
      if (page !== generation) return;
      if (report.status === "running") {
        timer = setTimeout(() => refresh().catch((e) => showNotice(e.message)), REFRESH_MS);
      }
    }

    fill(view,
      el("h1", {}, "Execution ", el("code", {}, executionId)),
      header,
      actions,
      el("h2", {}, "Path"),
      diagram,
      el("h2", {}, "Decision trace"),
      trace,
      el("h2", {}, "Tasks"),
      results,
      output,
    );
    await refresh();
  }

  function executionFacts(report) {
    return facts([
      ["status", status(report.status, "execution-status")],
      ["flow", [link(`#/flows/${enc(report.flow_id)}`, report.flow_id), report.flow_version ? ` v${report.flow_version}` : ""]],
      ["current task", report.current_task],
      ["failed task", report.failed_task],
      ["error", report.error],
      ["cause", report.cause],
      ["started", report.start_time],
      ["ended", report.end_time],
      ["retry of", report.retry_of ? link(`#/executions/${enc(report.retry_of)}`, report.retry_of) : null],
      [
        "retried by",
        (report.retries || []).length
          ? report.retries.map((id, i) => [i ? ", " : "", link(`#/executions/${enc(id)}`, id)])
          : null,
      ],
      ["execution ARN", report.execution_arn],
    ]);
  }

  function executionActions(report) {
    const id = report.execution_id;
    const panels = [];
    const problem = el("p", { class: "error", id: "action-error" });
    async function act(button, method, path, body, then) {
      button.disabled = true;
      problem.textContent = "";
      try {
        const answer = await api(method, path, body);
        if (then) then(answer);
        else rerender();
      } catch (error) {
        problem.textContent = error.message;
        button.disabled = false;
      }
    }
    if (report.waiting_for) {
      const task = report.waiting_for.task;
      const comment = el("input", { type: "text", id: "approval-comment", placeholder: "comment (optional)" });
      const body = (approve) => (comment.value ? { approve, comment: comment.value } : { approve });
      const approve = el("button", { type: "button", id: "approve" }, "Approve");
      const reject = el("button", { type: "button", id: "reject", class: "danger" }, "Reject");
      const path = `/executions/${enc(id)}/approvals/${enc(task)}`;
      approve.addEventListener("click", () => act(approve, "POST", path, body(true)));
      reject.addEventListener("click", () => act(reject, "POST", path, body(false)));
      panels.push(
        el(
          "div",
          { class: "panel", id: "approval" },
          el("label", {}, "Waiting for approval: ", el("code", {}, task)),
          report.waiting_for.message ? el("p", {}, report.waiting_for.message) : null,
          report.waiting_for.expires_at ? el("p", { class: "muted" }, `until ${report.waiting_for.expires_at}`) : null,
          comment,
          el("div", { class: "actions" }, approve, reject),
        ),
      );
    }
    if (report.status === "running") {
      const stop = el("button", { type: "button", id: "stop", class: "danger" }, "Stop");
      stop.addEventListener("click", () => act(stop, "DELETE", `/executions/${enc(id)}`));
      panels.push(el("div", { class: "panel" }, stop));
    }
    if (RETRYABLE.includes(report.status)) {
      const editor = contextEditor("retry-context", JSON.stringify(report.context ?? {}, null, 2));
      const replace = el("input", { type: "checkbox", id: "retry-replace-context" });
      const from = el(
        "select",
        { id: "retry-from", "aria-label": "from task" },
        el("option", { value: "" }, `the failed task${report.failed_task ? ` (${report.failed_task})` : ""}`),
        (report.path || []).filter((s) => !s.branch).map((s) => el("option", { value: s.task }, s.task)),
      );
      const version = el(
        "select",
        { id: "retry-version", "aria-label": "version" },
        el("option", { value: "same" }, "the same version"),
        el("option", { value: "current" }, "the current version"),
      );
      const retry = el("button", { type: "button", id: "retry" }, "Retry from failure");
      retry.addEventListener("click", () => {
        const body = { version: version.value };
        if (from.value) body.from_task = from.value;
        if (replace.checked) {
          const context = readContext(editor, problem);
          if (context === null) return;
          body.context = context;
        }
        act(retry, "POST", `/executions/${enc(id)}/retry`, body, (answer) => {
          location.hash = `#/executions/${enc(answer.execution_id)}`;
        });
      });
      panels.push(
        el(
          "div",
          { class: "panel", id: "retry-panel" },
          el("label", {}, "Retry"),
          el("div", { class: "actions" }, el("label", {}, "from ", from), el("label", {}, "with ", version)),
          el("label", {}, replace, " replace the context with:"),
          editor,
          el("div", { class: "actions" }, retry),
        ),
      );
    }
    return el("div", {}, el("div", { class: "actions" }, panels), problem);
  }

  function pathTable(steps) {
    if (!steps.length) return el("p", { class: "muted" }, "No step yet.");
    return table(
      ["#", "task", "branch", "status", "attempts", "condition", "case", "items", "next"],
      steps.map((step, i) =>
        el(
          "tr",
          { dataset: { task: step.task } },
          el("td", { class: "num" }, i + 1),
          el("td", {}, step.task),
          el("td", {}, step.branch || ""),
          el("td", {}, status(step.status)),
          el("td", { class: "num" }, step.attempts ?? ""),
          el("td", {}, step.condition || ""),
          el("td", {}, step.case === null || step.case === undefined ? "" : `#${step.case}: ${step.when || ""}`),
          el(
            "td",
            {},
            step.items
              ? `${step.items.succeeded} ok, ${step.items.failed} failed of ${step.items.total ?? "?"}`
              : "",
          ),
          el("td", {}, step.next || ""),
        ),
      ),
      { id: "path-table" },
    );
  }

  function resultsTable(report) {
    const entries = Object.entries(report.task_results || {});
    if (!entries.length) return el("p", { class: "muted" }, "No task result yet.");
    return table(
      ["task", "status", "attempts", "started", "finished", "time", "error", "data"],
      entries.map(([name, result]) =>
        el(
          "tr",
          { dataset: { task: name } },
          el("td", {}, name),
          el("td", {}, status(result.status)),
          el("td", { class: "num" }, result.attempts ?? ""),
          el("td", {}, result.started_at || ""),
          el("td", {}, result.finished_at || ""),
          el("td", { class: "num" }, seconds(result.execution_time)),
          el("td", { class: "error" }, result.error || ""),
          el("td", {}, json(result.data)),
        ),
      ),
      { id: "results-table" },
    );
  }

  // ---- routing -------------------------------------------------------------------------

  function rerender() {
    render();
  }

  async function render() {
    const page = ++generation;
    if (timer) clearTimeout(timer);
    timer = null;
    showNotice("");
    document.body.dataset.page = "loading";
    try {
      const route = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
      if (route[0] === "flows" && route[1]) {
        document.body.dataset.page = "flow";
        await flowPage(page, route[1]);
      } else if (route[0] === "executions" && route[1]) {
        document.body.dataset.page = "execution";
        await executionPage(page, route[1]);
      } else {
        document.body.dataset.page = "flows";
        await flowsPage(page);
      }
    } catch (error) {
      if (page !== generation) return;
      fill(view, el("p", { class: "error", id: "page-error" }, error.message || String(error)));
    }
  }

  window.addEventListener("hashchange", render);
  render();
})();

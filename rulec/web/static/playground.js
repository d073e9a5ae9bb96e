// rulec playground: the rules with their colours and the checker's diagnostics as you
// type, an order form, and the basket and explanation the rules give it.
// Plain JavaScript, no library, nothing fetched but this page's own API.
"use strict";

const KEYWORDS = new Set(("after amount and any applied at back between budget cancelled combinable coupon " +
  "description disabled enabled end exclusive expect family for free from get given group has in " +
  "is item items label lacks limit line lost no not of on or per priority rule test " +
  "then to total until up use uses when with").split(" "));
const VERBS = new Set("discount add remove set hide show".split(" "));
const CHECK_DELAY = 250;  // ms of quiet typing before the rules are checked
const DECIDE_DELAY = 300;
const HIGHLIGHT_LIMIT = 400000;  // characters: past this the text is shown without colours

const $ = (id) => document.getElementById(id);
const state = {
  setup: null, files: {}, path: null, diagnostics: [], ok: false,
  checkSeq: 0, decideSeq: 0, checkTimer: null, decideTimer: null, stored: null,
};

// ---------------------------------------------------------------- helpers

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  };
  const response = await fetch(path, init);
  let data;
  try { data = await response.json(); } catch (e) { data = {error: `${response.status} ${response.statusText}`}; }
  return {ok: response.ok, status: response.status, data};
}

// ------------------------------------------------------- the highlighter

const TOKEN = /(#.*)|("(?:[^"\\]|\\.)*"?)|([+-]?\d[\d\-./:T+Z]*%?)|([^\W\d]\w*)|([<>=!]+)|(\s+|.)/gu;

function tokenClasses(line, words) {
  // one class per character of ``line`` ("" for none)
  const classes = new Array(line.length).fill("");
  let m, after = "";
  TOKEN.lastIndex = 0;
  while ((m = TOKEN.exec(line)) !== null) {
    let cls = "";
    if (m[1]) cls = "comment";
    else if (m[2]) cls = "string";
    else if (m[3]) cls = "number";
    else if (m[4]) {
      const w = m[4];
      const lower = w.toLowerCase();
      if (KEYWORDS.has(lower)) cls = "keyword";
      else if (VERBS.has(lower)) cls = "verb";
      else if (after === "on" && words.events.has(w)) cls = "event";
      else if (words.entities.has(w)) cls = "entity";
      after = lower;
    } else if (m[5]) cls = "op";
    for (let i = m.index; i < m.index + m[0].length; i++) classes[i] = cls;
  }
  return classes;
}

function squiggles(lines) {
  // per line: a list of [start, end, severity] in 0-based columns, from the diagnostics
  const out = new Map();
  const add = (n, a, b, sev) => {
    if (!out.has(n)) out.set(n, []);
    out.get(n).push([a, b, sev]);
  };
  for (const d of state.diagnostics) {
    const last = Math.max(d.end_line, d.line);
    for (let n = d.line; n <= last && n <= lines.length; n++) {
      const text = lines[n - 1] || "";
      let a = n === d.line ? d.column - 1 : 0;
      let b = n === last && d.end_line >= d.line ? d.end_column - 1 : text.length;
      if (b <= a) b = a + 1;  // a point: one character
      add(n, a, b, d.severity);
    }
  }
  return out;
}

function renderHighlight() {
  const text = $("rules").value;
  const lines = text.split("\n");
  const words = state.words;
  const marks = squiggles(lines);
  const worst = new Map();
  for (const d of state.diagnostics) {
    if (worst.get(d.line) !== "error") worst.set(d.line, d.severity);
  }
  const pre = $("highlight");
  const gutter = $("gutter");
  const fragment = document.createDocumentFragment();
  const numbers = [];
  const plain = text.length > HIGHLIGHT_LIMIT;
  lines.forEach((line, i) => {
    const n = i + 1;
    const sev = worst.get(n);
    const span = el("span", {class: "line" + (sev ? ` has-${sev}` : ""), "data-line": n});
    const classes = plain ? new Array(line.length).fill("") : tokenClasses(line, words);
    const squiggle = new Array(Math.max(line.length, 1)).fill("");
    for (const [a, b, s] of marks.get(n) || []) {
      for (let k = a; k < b && k < squiggle.length; k++) {
        if (squiggle[k] !== "error") squiggle[k] = s;
      }
    }
    let start = 0;
    const shown = line.length ? line : " ";
    for (let k = 1; k <= shown.length; k++) {
      if (k === shown.length || classes[k] !== classes[start] || squiggle[k] !== squiggle[start]) {
        const cls = [classes[start] ? `tk-${classes[start]}` : "", squiggle[start] ? `sq-${squiggle[start]}` : ""]
          .filter(Boolean).join(" ");
        const piece = shown.slice(start, k);
        span.append(cls ? el("span", {class: cls, text: piece}) : document.createTextNode(piece));
        start = k;
      }
    }
    fragment.append(span, "\n");
    numbers.push(sev ? `<span class="${sev}">${n}</span>` : String(n));
  });
  pre.replaceChildren(fragment);
  gutter.innerHTML = numbers.join("\n");
  syncScroll();
}

function syncScroll() {
  const ta = $("rules");
  $("highlight").scrollTop = ta.scrollTop;
  $("highlight").scrollLeft = ta.scrollLeft;
  $("gutter").scrollTop = ta.scrollTop;
}

// ---------------------------------------------------------- diagnostics

function goTo(line, column) {
  const ta = $("rules");
  const lines = ta.value.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  offset += Math.max(0, column - 1);
  ta.focus();
  ta.setSelectionRange(offset, offset);
  const lineHeight = parseFloat(getComputedStyle(ta).lineHeight) || 19;
  ta.scrollTop = Math.max(0, (line - 4) * lineHeight);
  syncScroll();
}

function diagnosticItem(d, here) {
  return el("li", {
    class: d.severity, "data-code": d.code, "data-line": d.line, "data-column": d.column,
    onclick: here ? () => goTo(d.line, d.column) : null,
  },
  el("span", {class: "where", text: `${here ? "" : d.path + ":"}${d.line}:${d.column} `}),
  el("span", {class: "code", text: d.code}), " ",
  el("span", {class: "message", text: d.message}),
  d.suggestion ? el("span", {class: "suggestion", text: d.suggestion}) : null);
}

function renderDiagnostics(result) {
  const list = $("diagnostics");
  list.replaceChildren(...result.diagnostics.map((d) => diagnosticItem(d, true)));
  if (!result.diagnostics.length) list.append(el("li", {class: "none", text: "No problems in this file."}));
  $("other-diagnostics").replaceChildren(...result.others.map((d) => diagnosticItem(d, false)));
  const summary = $("summary");
  summary.textContent = result.summary;
  summary.className = "summary " + (result.errors ? "bad" : "ok");
}

async function check() {
  const seq = ++state.checkSeq;
  const text = $("rules").value;
  const {ok, data} = await api("/api/check", {path: state.path, text});
  if (seq !== state.checkSeq) return;  // a newer check is on its way
  if (!ok) {
    state.diagnostics = [];
    $("summary").textContent = data.error;
    $("summary").className = "summary bad";
    renderHighlight();
    return;
  }
  state.diagnostics = data.diagnostics;
  state.ok = data.errors === 0;
  renderDiagnostics(data);
  renderHighlight();
  decide();
}

function onType() {
  state.files[state.path] = $("rules").value;
  renderHighlight();
  clearTimeout(state.checkTimer);
  state.checkTimer = setTimeout(check, CHECK_DELAY);
}

// ------------------------------------------------------------ order form

function currentEvent() {
  return state.setup.events.find((e) => e.name === $("event").value) || state.setup.events[0];
}

function fieldInput(entity, f, value) {
  const name = `${entity.name}.${f.name}`;
  const common = {"data-field": f.name, "data-type": f.type, name, title: f.description};
  if (f.type === "boolean" || f.values.length) {
    const options = f.type === "boolean" ? ["true", "false"] : f.values;
    const select = el("select", common, el("option", {value: "", text: f.derived ? `(${f.derived})` : "(not known)"}),
      ...options.map((o) => el("option", {value: o, text: o})));
    select.value = value === undefined || value === null ? "" : String(value);
    return select;
  }
  const input = el("input", {
    ...common, type: "text",
    inputmode: ["money", "decimal"].includes(f.type) ? "decimal" : f.type === "integer" ? "numeric" : null,
    placeholder: f.derived ? `(${f.derived})` : f.type === "datetime" ? "2026-12-01T09:12:00+01:00" : f.type,
    list: f.type === "currency" ? "currencies" : null,
  });
  input.value = value === undefined || value === null ? "" : String(value);
  return input;
}

function labelsInput(entity, labels) {
  return el("input", {
    type: "text", "data-field": "labels", name: `${entity.name}.labels`,
    placeholder: "labels, separated by spaces", value: (labels || []).join(" "),
  });
}

function codesInput(entity, codes) {
  // the coupon codes the customer entered: sent as they are typed, compared in capitals
  return el("input", {
    type: "text", "data-field": "coupons", name: `${entity.name}.coupons`,
    placeholder: "codes entered, separated by spaces", value: (codes || []).join(" "),
  });
}

function entitySection(entity, doc) {
  const given = doc[entity.name];
  if (entity.many) return linesSection(entity, Array.isArray(given) ? given : []);
  const values = given && typeof given === "object" ? given : {};
  const fields = el("div", {class: "fields"});
  if (entity.labelled) fields.append(el("label", {}, "labels", labelsInput(entity, values.labels)));
  if (entity.coupons) fields.append(el("label", {}, "coupon codes", codesInput(entity, values.coupons)));
  for (const f of entity.fields) fields.append(el("label", {}, f.name.replaceAll("_", " "), fieldInput(entity, f, values[f.name])));
  const legend = el("legend", {}, entity.name, " ", el("small", {text: entity.description}));
  const box = el("fieldset", {"data-entity": entity.name});
  if (entity.optional) {
    const there = !!given && typeof given === "object" && !given.absent;
    const present = el("input", {type: "checkbox", "data-present": entity.name, checked: there});
    legend.append(" ", el("label", {class: "present"}, present, " there is one"));
    present.addEventListener("change", () => { fields.hidden = !present.checked; });
    fields.hidden = !there;
  }
  box.append(legend, fields);
  return box;
}

function linesSection(entity, members) {
  const columns = entity.fields.filter((f) => !f.derived);
  const body = el("tbody");
  const head = el("tr", {}, ...columns.map((f) => el("th", {text: f.name.replaceAll("_", " ")})),
    entity.labelled ? el("th", {text: "labels"}) : null,
    entity.coupons ? el("th", {text: "coupon codes"}) : null, el("th"));
  const addRow = (m) => {
    const row = el("tr", {"data-member": entity.name});
    for (const f of columns) row.append(el("td", {}, fieldInput(entity, f, m[f.name])));
    if (entity.labelled) row.append(el("td", {}, labelsInput(entity, m.labels)));
    if (entity.coupons) row.append(el("td", {}, codesInput(entity, m.coupons)));
    row.append(el("td", {}, el("button", {type: "button", class: "remove", title: "remove this line",
      text: "×", onclick: () => { row.remove(); scheduleDecide(); }})));
    body.append(row);
  };
  members.forEach(addRow);
  const add = el("button", {type: "button", id: `add-${entity.name}`, text: `Add ${entity.name === "item" ? "a line" : entity.name}`,
    onclick: () => { addRow({quantity: 1}); scheduleDecide(); }});
  return el("fieldset", {"data-entity": entity.name, "data-many": "true"},
    el("legend", {}, entity.name === "item" ? "lines" : entity.name, " ", el("small", {text: entity.description})),
    el("table", {class: "lines"}, el("thead", {}, head), body), add);
}

function renderForm(doc) {
  const ev = currentEvent();
  const box = $("entities");
  box.replaceChildren(...ev.entities.map((entity) => entitySection(entity, doc)),
    el("datalist", {id: "currencies"}, ...state.setup.currencies.map((c) => el("option", {value: c}))));
}

function readValue(input) {
  const v = input.value.trim();
  if (v === "") return undefined;
  const type = input.dataset.type;
  if (["labels", "coupons"].includes(input.dataset.field)) return v.split(/[\s,]+/).filter(Boolean);
  if (type === "integer" && /^[+-]?\d+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  if (type === "boolean") return v === "true";
  return v;  // amounts stay text: read exactly on the server, never as a float
}

function readFields(scope) {
  const out = {};
  for (const input of scope.querySelectorAll("[data-field]")) {
    const value = readValue(input);
    if (value !== undefined) out[input.dataset.field] = value;
  }
  return out;
}

function orderDocument() {
  const doc = {};
  for (const box of $("entities").querySelectorAll("fieldset[data-entity]")) {
    const name = box.dataset.entity;
    if (box.dataset.many) {
      doc[name] = [...box.querySelectorAll("tr[data-member]")].map(readFields);
      continue;
    }
    const present = box.querySelector("[data-present]");
    doc[name] = present && !present.checked ? {absent: true} : readFields(box);
  }
  return doc;
}

function defaultOrder() {
  const now = new Date();
  now.setMilliseconds(0);
  return {
    customer: {labels: ["Customer_VIP"], order_count: 3},
    order: {currency: "EUR", created_at: now.toISOString().replace(".000Z", "+00:00")},
    item: [
      {name: "Photo book", unit_price: "60.00", quantity: 2},
      {name: "Wedding album", unit_price: "24.50", quantity: 1},
    ],
  };
}

// -------------------------------------------------------------- deciding

function scheduleDecide() {
  clearTimeout(state.decideTimer);
  state.decideTimer = setTimeout(decide, DECIDE_DELAY);
}

function money(amount, currency) {
  return `${amount} ${currency}`;
}

function negative(amount) {
  return amount.startsWith("-") ? amount.slice(1) : `−${amount}`;
}

function basketView(b, id) {
  const cur = b.currency;
  const box = document.createDocumentFragment();
  const prefix = id ? `${id}-` : "stored-";
  if (b.discounts.length || Number(b.discount_amount) > 0) {
    // a shipping discount: said apart, as a shop's basket says it (the percentage,
    // the order's, is then on its discount's line alone)
    const shipped = Number(b.shipping_discount) > 0;
    const pct = b.discount_percentage && !shipped ? ` (${b.discount_percentage}%)` : "";
    const onShipping = shipped ? ` and ${money(b.shipping_discount, cur)} on shipping` : "";
    box.append(el("div", {class: "alert alert-success", role: "status", id: `${prefix}alert`},
      el("strong", {text: b.discount_description || "Discount"}), `${pct}: you save ${money(b.discount_amount, cur)}${onShipping}`));
  } else {
    box.append(el("div", {class: "alert alert-info", id: `${prefix}alert`, text: "No discount applies to this order."}));
  }
  const coupons = couponsView(b, prefix);
  if (coupons) box.append(coupons);
  const rows = [];
  for (const line of b.lines) {
    const each = line.quantity !== 1 ? ` (${line.unit_price} each)` : "";
    rows.push(el("tr", {class: "basket-line"}, el("td", {text: `${line.quantity} × ${line.name || "(no name)"}${each}`}),
      el("td", {class: "amount", text: money(line.line_total, cur)})));
    if (Number(line.discount) > 0) {
      rows.push(el("tr", {class: "share"}, el("td", {text: "less its share of the discount"}),
        el("td", {class: "amount", text: money(negative(line.discount), cur)})));
    }
  }
  rows.push(el("tr", {class: "subtotal"}, el("td", {text: "Subtotal"}),
    el("td", {class: "amount", id: `${prefix}subtotal`, text: money(b.subtotal, cur)})));
  for (const d of b.discounts) {
    if (d.shipping) continue;  // below the shipping charge it comes off
    const pct = d.percentage ? ` (${d.percentage}%)` : "";
    rows.push(el("tr", {class: "discount", "data-rule": d.rule}, el("td", {text: `${d.description}${pct}`}),
      el("td", {class: "amount", text: money(negative(d.amount), cur)})));
  }
  if (!b.discounts.length && Number(b.discount_amount) > 0) {
    rows.push(el("tr", {class: "discount"}, el("td", {text: b.discount_description || "Discount"}),
      el("td", {class: "amount", text: money(negative(b.discount_amount), cur)})));
  }
  if (Number(b.shipping_amount) > 0) {
    rows.push(el("tr", {class: "shipping"}, el("td", {text: "Shipping"}),
      el("td", {class: "amount", id: `${prefix}shipping`, text: money(b.shipping_amount, cur)})));
    for (const d of b.discounts) {
      if (!d.shipping) continue;
      const pct = d.percentage ? ` (${d.percentage}%)` : "";
      rows.push(el("tr", {class: "shipping-discount", "data-rule": d.rule}, el("td", {text: `${d.description}${pct}`}),
        el("td", {class: "amount", text: money(negative(d.amount), cur)})));
    }
  }
  rows.push(el("tr", {class: "total"}, el("td", {text: "Total"}),
    el("td", {class: "amount", id: `${prefix}total`, text: money(b.total, cur)})));
  box.append(el("table", {class: "figures", id: `${prefix}figures`}, el("tbody", {}, ...rows)));
  const notes = [];
  for (const c of b.label_changes || []) notes.push(`${c.add ? "adds" : "removes"} label ${c.label} ${c.add ? "to" : "from"} ${c.entity}`);
  for (const c of b.field_changes || []) notes.push(`sets ${c.entity} ${c.field} to ${c.value} (rule ${c.rule})`);
  for (const e of b.errors || []) notes.push(`rule ${e.rule} failed at ${e.file}:${e.line}: ${e.message}`);
  if (notes.length) box.append(el("ul", {class: "effects"}, ...notes.map((t) => el("li", {text: t}))));
  return box;
}

function couponsView(b, prefix) {
  // each code entered, as a shop's basket tells the customer: applied, or why not
  if (!b.coupons || !b.coupons.length) return null;
  return el("ul", {class: "coupons", id: `${prefix}coupons`}, ...b.coupons.map((c) => {
    const item = el("li", {class: `coupon ${c.applied ? "applied" : "refused"}`,
      "data-code": c.code, "data-reason-code": c.reason_code},
    el("strong", {class: "code", text: c.code}), " ",
    el("span", {class: "verdict", text: c.applied ? "applied" : "cannot be used"}), ": ");
    if (c.applied && c.description) {
      item.append(el("span", {class: "reason", text: `${c.description}, ${money(negative(c.amount), b.currency)}`}),
        " ", el("span", {class: "rule", text: `(rule ${c.rule})`}));
    } else {
      item.append(el("span", {class: "reason", text: c.reason}));
    }
    if (!c.applied) item.append(" ", el("code", {class: "reason-code", title: "the stable reason code", text: c.reason_code}));
    return item;
  }));
}

function renderExplanation(x) {
  const items = x.explanation.rules.map((r) => {
    const here = state.setup.files.find((f) => f.path === state.path);
    const local = here && (r.file === here.name || r.file === here.path);
    const file = state.setup.files.find((f) => f.path === r.file);
    const where = el("a", {href: "#", text: `${file ? file.name : r.file}:${r.line}`, title: r.file,
      onclick: (e) => { e.preventDefault(); if (local) goTo(r.line, 1); }});
    const seen = r.seen.length ? el("ul", {}, ...r.seen.map((s) =>
      el("li", {text: `${s.line}:${s.column} ${s.test} → ${s.result} (${s.fact}: ${JSON.stringify(s.value)})`}))) : null;
    return el("li", {"data-rule": r.rule, "data-status": r.status},
      el("span", {class: `badge ${r.status.replace(" ", "-")}`, text: r.status}),
      el("span", {class: "rule-name", text: r.rule}), " ", where,
      el("span", {class: "reason", text: r.reason}), seen);
  });
  if (!items.length) items.push(el("li", {text: "This event has no rules."}));
  $("explanation").replaceChildren(...items);
  $("explanation-text").textContent = x.explanation_text;
  $("facts").textContent = JSON.stringify(x.facts, null, 2);
}

function showError(message) {
  const box = $("decide-error");
  box.textContent = message;
  box.hidden = false;
}

async function decide() {
  clearTimeout(state.decideTimer);
  const seq = ++state.decideSeq;
  const body = {path: state.path, text: $("rules").value, event: currentEvent().name, order: orderDocument()};
  const {ok, data} = await api("/api/decide", body);
  if (seq !== state.decideSeq) return;
  const title = state.stored ? "Today's rules" : "Basket";
  $("basket-title").textContent = title;
  if (!ok) {
    showError(data.error);
    $("basket").replaceChildren();
    $("explanation").replaceChildren();
    return;
  }
  $("decide-error").hidden = true;
  $("basket").replaceChildren(basketView(data.basket, "basket"));
  renderExplanation(data);
}

// ---------------------------------------------------------- stored orders

async function loadStoredList() {
  const {ok, data} = await api("/api/orders");
  if (!ok) { showError(data.error); return; }
  const select = $("stored-order");
  select.append(...data.orders.map((o) => el("option", {value: o.id, text: o.title})));
}

async function pickStored() {
  const id = $("stored-order").value;
  const storedBox = $("stored-basket");
  if (!id) {
    state.stored = null;
    storedBox.hidden = true;
    decide();
    return;
  }
  const {ok, data} = await api(`/api/orders/${encodeURIComponent(id)}?event=${encodeURIComponent(currentEvent().name)}`);
  if (!ok) { showError(data.error); return; }
  state.stored = data;
  renderForm(data.order);
  storedBox.querySelector(".basket").replaceChildren(basketView(data.stored, "stored"));
  storedBox.hidden = false;
  decide();
}

// ---------------------------------------------------------------- start

function openFile(path) {
  state.path = path;
  $("file").value = path;
  $("rules").value = state.files[path];
  $("rules").scrollTop = 0;
  state.diagnostics = [];
  renderHighlight();
  check();
}

async function start() {
  const {ok, data} = await api("/api/setup");
  if (!ok) { showError(data.error); return; }
  state.setup = data;
  state.words = {entities: new Set(data.words.entities), events: new Set(data.words.events)};
  for (const f of data.files) state.files[f.path] = f.text;
  const fileSelect = $("file");
  fileSelect.replaceChildren(...data.files.map((f) => el("option", {value: f.path, text: f.name})));
  fileSelect.addEventListener("change", () => openFile(fileSelect.value));
  $("event").replaceChildren(...data.events.map((e) => el("option", {value: e.name, text: e.name, title: e.description})));
  $("event").addEventListener("change", () => { renderForm(orderDocument()); decide(); });
  const ta = $("rules");
  ta.addEventListener("input", onType);
  ta.addEventListener("scroll", syncScroll);
  ta.addEventListener("keydown", (e) => {
    if (e.key === "Tab" && !e.shiftKey) {  // a tab is two spaces, as rulec fmt writes rules
      e.preventDefault();
      document.execCommand("insertText", false, "  ");
    }
  });
  $("order-form").addEventListener("input", scheduleDecide);
  $("order-form").addEventListener("change", scheduleDecide);
  $("order-form").addEventListener("submit", (e) => { e.preventDefault(); decide(); });
  renderForm(defaultOrder());
  if (data.stored) {
    $("stored-picker").hidden = false;
    $("stored-where").textContent = data.stored.where;
    $("stored-order").addEventListener("change", pickStored);
    loadStoredList();
  }
  const first = data.files.find((f) => /vip/i.test(f.name)) || data.files[0];
  openFile(first.path);
}

start();

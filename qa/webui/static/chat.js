// The chat page, enhanced: answers arrive from POST /ask without a reload, the conversation
// is kept in localStorage, and citations can be copied. Without this script the form posts
// to the server, which renders the same cards (web/templates/_cards.html; keep in step).
// Document text only ever reaches the page through textContent, never as markup.
"use strict";

(() => {
  const STORE = "qa.conversation.v1";
  const MAX_TURNS = 50;
  const TOP_K = 5;
  const TIMEOUT_MS = 30000;
  const HIGH = 0.75;
  const MEDIUM = 0.4; // the same cut-offs as qa/views.py

  const form = document.getElementById("ask");
  const box = document.getElementById("question");
  const send = document.getElementById("send");
  const log = document.getElementById("log");
  const empty = document.getElementById("empty");
  const status = document.getElementById("status");
  const clear = document.getElementById("clear");
  let turns = [];
  let busy = false;

  // -- building the DOM ---------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function confidence(score) {
    return score >= HIGH ? "high" : score >= MEDIUM ? "medium" : "low";
  }

  function viewerHref(a) {
    const src = a.source;
    const path = src.document.split("/").map(encodeURIComponent).join("/");
    const params = new URLSearchParams({ start: src.start, end: src.end });
    params.set("hs", src.start + a.highlight.start);
    params.set("he", src.start + a.highlight.end);
    return `/documents/${path}?${params}#cited`;
  }

  function renderCard(a) {
    const level = confidence(a.score);
    const li = el("li", `card conf-${level}`);
    li.dataset.document = a.source.document;
    li.dataset.start = a.source.start;
    li.dataset.end = a.source.end;
    li.dataset.score = a.score;
    if (a.source.page) li.dataset.page = a.source.page;

    const quote = el("blockquote", "excerpt");
    const { start, end } = a.highlight;
    quote.append(a.text.slice(0, start), el("mark", "", a.text.slice(start, end)), a.text.slice(end));

    const cite = el("p", "cite");
    cite.append(el("cite", "title", a.source.title));
    if (a.source.section) cite.append(el("span", "section", a.source.section));
    if (a.source.page) cite.append(el("span", "page", `p. ${a.source.page}`));

    const actions = el("div", "actions");
    const cue = el("span", "confidence", `${level[0].toUpperCase()}${level.slice(1)} confidence`);
    cue.title = `Calibrated score ${a.score.toFixed(2)}`;
    const open = el("a", "open", "Open in source");
    open.href = viewerHref(a);
    actions.append(cue, open, el("button", "copy", "Copy citation"));
    actions.lastChild.type = "button";

    li.append(quote, cite, actions);
    return li;
  }

  function cardList(answers) {
    const list = el("ol", "cards");
    for (const a of answers) list.append(renderCard(a));
    return list;
  }

  function renderReply(turn) {
    const reply = el("div", "reply");
    const low = (a) => confidence(a.score) === "low";
    // The best answer is always shown open; weaker ones after it are folded.
    const rest = turn.answers.slice(1);
    const folded = turn.no_answer ? turn.answers : rest.filter(low);
    if (turn.no_answer) {
      const verdict = el("p", "verdict");
      verdict.append(
        el("strong", "", "The sources don't answer this."),
        " Nothing in the collection says it; try other words, or ask about something the sources cover.",
      );
      reply.append(verdict);
    } else {
      reply.append(cardList(turn.answers.slice(0, 1).concat(rest.filter((a) => !low(a)))));
    }
    if (folded.length) {
      const details = el("details", turn.no_answer ? "nearest" : "weaker");
      const label = turn.no_answer ? "Nearest passages — not answers" : "Weaker passages — less likely to answer";
      details.append(el("summary", "", `${label} (${folded.length})`), cardList(folded));
      reply.append(details);
    }
    const n = turn.answers.length;
    reply.append(el("p", "took", `${n} excerpt${n === 1 ? "" : "s"} in ${Math.round(turn.took_ms)} ms`));
    return reply;
  }

  function renderTurn(turn) {
    const li = el("li", turn.no_answer ? "turn no-answer" : "turn");
    const q = el("p", "question");
    q.append(el("span", "visually-hidden", "You asked: "), turn.question);
    li.append(q, renderReply(turn));
    return li;
  }

  // -- the conversation in localStorage ------------------------------------------------

  function valid(turn) {
    return turn && typeof turn.question === "string" && Array.isArray(turn.answers) &&
      typeof turn.took_ms === "number" &&
      turn.answers.every((a) => a && typeof a.text === "string" && typeof a.score === "number" &&
        a.highlight && a.source && typeof a.source.document === "string" && typeof a.source.title === "string");
  }

  function load() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORE) || "[]");
      return Array.isArray(saved) ? saved.filter(valid) : [];
    } catch {
      return [];
    }
  }

  function save() {
    turns = turns.slice(-MAX_TURNS);
    try {
      localStorage.setItem(STORE, JSON.stringify(turns));
    } catch {
      // Storage may be full or disabled; the conversation then lasts until the page closes.
    }
  }

  // A turn the server rendered (a suggestion link or a form post) joins the stored conversation.
  function turnFromDom(li) {
    const answers = [...li.querySelectorAll(".card")].map((card) => {
      const quote = card.querySelector(".excerpt");
      const mark = quote.querySelector("mark");
      let before = "";
      for (let node = quote.firstChild; node && node !== mark; node = node.nextSibling) before += node.textContent;
      const section = card.querySelector(".section");
      return {
        text: quote.textContent,
        highlight: { start: before.length, end: before.length + mark.textContent.length },
        score: Number(card.dataset.score),
        source: {
          document: card.dataset.document,
          title: card.querySelector(".title").textContent,
          section: section ? section.textContent : null,
          page: card.dataset.page ? Number(card.dataset.page) : null,
          start: Number(card.dataset.start),
          end: Number(card.dataset.end),
        },
      };
    });
    const took = /in (\d+) ms/.exec(li.querySelector(".took").textContent);
    return {
      question: li.querySelector(".question").lastChild.textContent,
      no_answer: li.classList.contains("no-answer"),
      answers,
      took_ms: took ? Number(took[1]) : 0,
    };
  }

  function showConversationState() {
    empty.hidden = log.children.length > 0;
    clear.hidden = log.children.length === 0;
  }

  // -- asking --------------------------------------------------------------------------

  function setBusy(on) {
    busy = on;
    send.disabled = on;
    send.textContent = on ? "Asking…" : "Ask";
    form.setAttribute("aria-busy", String(on));
    log.setAttribute("aria-busy", String(on));
  }

  async function readError(response) {
    let detail = "";
    try {
      detail = (await response.json()).detail || "";
    } catch {
      // not JSON: keep the status line
    }
    if (typeof detail !== "string") detail = JSON.stringify(detail);
    if (response.status === 422) return `The question wasn't accepted: ${detail || "invalid request"}.`;
    if (response.status === 503) return `The sources aren't available right now: ${detail || "no index loaded"}.`;
    return `The server answered ${response.status}${detail ? `: ${detail}` : ""}.`;
  }

  function showError(li, question, message) {
    const reply = el("div", "reply");
    const alert = el("p", "alert");
    alert.setAttribute("role", "alert");
    alert.append(el("strong", "", "Couldn't get an answer. "), message);
    const retry = el("button", "quiet", "Try again");
    retry.type = "button";
    retry.addEventListener("click", () => {
      li.remove();
      ask(question);
    });
    alert.append(retry);
    reply.append(alert);
    li.querySelector(".reply").replaceWith(reply);
    li.classList.remove("pending");
    status.textContent = message;
  }

  async function ask(text) {
    const question = text.trim();
    if (busy || !question) {
      box.focus();
      return;
    }
    const pending = el("li", "turn pending");
    const q = el("p", "question");
    q.append(el("span", "visually-hidden", "You asked: "), question);
    pending.append(q, el("div", "reply", "Searching the sources"));
    log.append(pending);
    showConversationState();
    pending.scrollIntoView({ block: "nearest" });
    status.textContent = "Searching the sources…";
    box.value = "";
    setBusy(true);

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    try {
      const response = await fetch("/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ question, top_k: TOP_K }),
        signal: controller.signal,
      });
      if (!response.ok) {
        showError(pending, question, await readError(response));
        return;
      }
      const turn = await response.json();
      const done = renderTurn(turn);
      pending.replaceWith(done);
      done.scrollIntoView({ block: "start" });
      turns.push(turn);
      save();
      status.textContent = turn.no_answer
        ? "The sources don't answer this."
        : `${turn.answers.length} excerpt${turn.answers.length === 1 ? "" : "s"} found.`;
    } catch (err) {
      const message = err.name === "AbortError"
        ? "The server took too long to answer. Try again in a moment."
        : "Can't reach the qa server. Check that it is running, then try again.";
      showError(pending, question, message);
    } finally {
      clearTimeout(timer);
      setBusy(false);
      showConversationState();
      box.focus();
    }
  }

  // -- copying a citation ---------------------------------------------------------------

  function citation(card) {
    const quote = card.querySelector(".excerpt").textContent.replace(/\s+/g, " ").trim();
    const where = [card.querySelector(".title").textContent];
    const section = card.querySelector(".section");
    if (section) where.push(section.textContent);
    if (card.dataset.page) where.push(`p. ${card.dataset.page}`);
    const url = new URL(card.querySelector(".open").getAttribute("href"), location.href).href;
    return `“${quote}”\n— ${where.join(", ")}\n${url}`;
  }

  function copyFallback(text) {
    const area = el("textarea", "visually-hidden");
    area.value = text;
    area.setAttribute("readonly", "");
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }

  async function copy(button) {
    const text = citation(button.closest(".card"));
    let ok = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        ok = true;
      } catch {
        ok = false;
      }
    }
    if (!ok) ok = copyFallback(text);
    button.textContent = ok ? "Copied ✓" : "Copy failed";
    status.textContent = ok ? "Citation copied to the clipboard." : "Couldn't copy the citation.";
    setTimeout(() => { button.textContent = "Copy citation"; }, 2000);
  }

  // -- wiring ----------------------------------------------------------------------------

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const error = document.getElementById("form-error");
    if (error) error.remove();
    ask(box.value);
  });

  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  log.addEventListener("click", (event) => {
    const button = event.target.closest(".copy");
    if (button) copy(button);
  });

  empty.addEventListener("click", (event) => {
    const chip = event.target.closest(".chip");
    if (!chip) return;
    event.preventDefault();
    box.value = chip.dataset.question;
    ask(box.value);
  });

  clear.addEventListener("click", () => {
    turns = [];
    save();
    log.replaceChildren();
    showConversationState();
    status.textContent = "Conversation cleared.";
    box.focus();
  });

  // Restore the stored conversation before any turn the server rendered into this page.
  const rendered = [...log.querySelectorAll(".turn")];
  turns = load();
  const restored = turns.map(renderTurn);
  log.prepend(...restored);
  for (const li of rendered) turns.push(turnFromDom(li));
  if (rendered.length) {
    save();
    history.replaceState(null, "", "/");
  }
  for (const button of log.querySelectorAll(".copy")) button.hidden = false;
  document.getElementById("hint").hidden = false;
  showConversationState();
  if (log.lastElementChild) log.lastElementChild.scrollIntoView({ block: rendered.length ? "start" : "end" });
})();

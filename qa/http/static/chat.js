// The chat page, enhanced: answers arrive without a reload, the conversation is kept in
// localStorage, and citations can be copied. Cards are built in one place, the server's
// templates (qa/http/templates/_cards.html): this script posts the question to /chat/turn
// and puts the turn the server rendered (and escaped) in place; a stored turn is rendered
// again by /chat/render. Document text never reaches the page as markup from this script.
"use strict";

(() => {
  const STORE = "qa.conversation.v1";
  const MAX_TURNS = 50;
  const TOP_K = 5;
  const TIMEOUT_MS = 30000;
  const MAX_HISTORY = 10; // earlier questions sent with a question, for follow-ups

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

  // A turn the server rendered, as a DOM node (the server escapes every text it puts in).
  async function fetchTurn(url, body, signal) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/html" },
      body: JSON.stringify(body),
      signal,
    });
    if (!response.ok) return { error: response };
    const holder = document.createElement("template");
    holder.innerHTML = await response.text();
    const li = holder.content.querySelector(".turn");
    for (const button of li.querySelectorAll(".copy")) button.hidden = false;
    return { li };
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
    const read = li.querySelector(".interpreted .as");
    return {
      question: li.querySelector(".question").lastChild.textContent,
      no_answer: li.classList.contains("no-answer"),
      answers,
      took_ms: took ? Number(took[1]) : 0,
      interpreted_as: read ? read.textContent : null,
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
      const scope = document.getElementById("document");
      // The conversation so far, so that a follow-up ("Who signed it?") is read with it.
      const earlier = turns.map((t) => t.question).slice(-MAX_HISTORY);
      const body = { question, top_k: TOP_K, history: earlier };
      if (scope && scope.value) body.documents = [scope.value];
      const { li: done, error } = await fetchTurn("/chat/turn", body, controller.signal);
      if (error) {
        showError(pending, question, await readError(error));
        return;
      }
      const turn = turnFromDom(done);
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
  // The log is aria-busy until the stored turns are back.
  async function restore() {
    log.setAttribute("aria-busy", "true");
    const rendered = [...log.querySelectorAll(".turn")];
    // This script keeps the conversation itself: the no-JavaScript form's copy goes.
    for (const node of form.querySelectorAll('input[name="history"], .carried')) node.remove();
    for (const button of log.querySelectorAll(".copy")) button.hidden = false;
    document.getElementById("hint").hidden = false;
    const stored = load();
    const results = await Promise.all(stored.map((turn) => fetchTurn("/chat/render", turn).catch(() => ({}))));
    // A stored turn the server rejects (422: not a valid answer) is dropped; one it could not
    // render now (server away) stays stored for the next visit.
    const kept = stored.filter((_, i) => !(results[i].error && results[i].error.status === 422));
    log.prepend(...results.filter((r) => r.li).map((r) => r.li));
    turns = kept.concat(rendered.map(turnFromDom), turns); // turns asked meanwhile come last
    if (rendered.length || kept.length !== stored.length) save();
    if (rendered.length) history.replaceState(null, "", "/");
    showConversationState();
    log.setAttribute("aria-busy", String(busy));
    if (log.lastElementChild) log.lastElementChild.scrollIntoView({ block: rendered.length ? "start" : "end" });
  }

  restore();
})();

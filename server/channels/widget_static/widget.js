/* The anti-fraud assistant's website widget. Embed with one tag:
 *   <script src="https://<assistant>/chat/widget.js"></script>
 * It adds its CSS link and its DOM, and talks to <same place>/chat/webhook.
 * The server replaces the placeholder on the last line with the bank's name, hotline,
 * the official numbers and every word the widget shows (knowledge/replies.yml, per
 * language), so the widget can show them even when the network is down. This file holds
 * no words of its own. Plain ES2017, no dependencies. Every text, the bot's and the
 * widget's own, only ever goes in as text nodes.
 * Its words follow the page's language (<html lang>, or data-lang on the script tag) and
 * then the customer's: each answer says its language in the Content-Language header.
 * The transcript is kept in localStorage, and a customer's message only once answered:
 * the server masks card numbers, ID numbers, passwords and codes, and its reply says how
 * the message was stored ({"custom": {"type": "masked_input", "text": ...}}); that masked
 * text replaces the bubble's and is the only one ever stored.
 * Pictures: the "发截图 / 拍照" button opens the phone's camera or gallery; the picture is
 * made smaller here (a canvas, JPEG) and posted to <same place>/chat/image. It is never
 * stored or shown back: the customer's bubble says a picture was sent, and the reply
 * starts with what the server read in it (masked), in a card of its own.
 */
(function (config) {
  "use strict";

  if (window.__fanzhaWidget) return; // embedded twice: keep one
  window.__fanzhaWidget = true;

  const script =
    document.currentScript || document.querySelector('script[src*="/chat/widget.js"]');
  const WEBHOOK_URL = new URL("webhook", script.src).href;
  const STYLESHEET_URL = new URL("widget.css", script.src).href;
  const STORAGE_KEY = "fanzha-widget";
  const IMAGE_URL = new URL("image", script.src).href;
  const REQUEST_TIMEOUT_MS = 15000;
  // Reading a picture takes a few seconds more than a message (server/ocr/).
  const IMAGE_TIMEOUT_MS = 60000;
  // A phone screenshot (1080x2340) goes as it is; larger pictures are scaled down so
  // their longer side is at most this (a long screenshot counts as 2.2 widths tall).
  const IMAGE_MAX_SIDE = 2340;
  const IMAGE_LONG_RATIO = 2.2;
  const IMAGE_QUALITY = 0.85;
  // The stored transcript keeps the newest entries within both limits.
  const MAX_STORED_ENTRIES = 80;
  const MAX_STORED_CHARS = 200000;
  const ATM_ID = /^[A-Za-z0-9_-]{1,32}$/;
  const DIGITS = /^[0-9]{3,12}$/;
  // What the handoff's reference may look like (FZ-KXQMTA); anything else is not shown.
  const REFERENCE = /^[A-Z0-9-]{1,32}$/;
  // What the server puts in a reply when it masked secrets in the customer's message.
  const MASKED_INPUT = "masked_input";
  // What the server puts first in the reply to a picture: the text it read, masked.
  const IMAGE_TEXT = "image_text";
  const bankHotline = config.bankHotline;
  const directory = config.officialNumbers;

  /** The key of config.texts for an HTML lang tag: en, zh-TW (Traditional) or zh-CN. */
  function languageOf(tag) {
    const lower = typeof tag === "string" ? tag.trim().toLowerCase() : "";
    if (!lower) return null;
    if (lower.startsWith("en")) return "en";
    if (/^zh-(tw|hk|mo|hant)/.test(lower)) return "zh-TW";
    if (lower.startsWith("zh")) return "zh-CN";
    return null;
  }

  function knownLanguage(language) {
    return typeof language === "string" && hasOwn(config.texts, language) ? language : null;
  }

  const pageLanguage =
    languageOf(script.getAttribute("data-lang")) ||
    languageOf(document.documentElement.lang) ||
    config.language;
  // What the widget says, in the page's language or the customer's; the bank's name and
  // hotline filled in. Replaced by setLanguage(), and while an old reply is drawn.
  let language = pageLanguage;
  let texts = config.texts[language];
  let textsLanguage = language; // the key of `texts`

  // ---- conversation state, kept in localStorage across reloads -------------------

  function newConversationId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // randomUUID needs a secure context; an intranet page on plain http has only this.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function freshState() {
    return { sender: newConversationId(), entries: [], atmStarted: [], open: null, language: null };
  }

  function loadState() {
    try {
      const saved = JSON.parse(localStorage.getItem(STORAGE_KEY));
      if (saved && typeof saved.sender === "string" && Array.isArray(saved.entries)) {
        const atmStarted = Array.isArray(saved.atmStarted) ? saved.atmStarted : [];
        return Object.assign(freshState(), saved, { atmStarted });
      }
    } catch (error) {
      // storage blocked or corrupt: start afresh
    }
    return freshState();
  }

  /** The state as stored: without the customer's messages still waiting for an answer,
   * which may hold a secret the server has not masked yet. */
  function storedState() {
    return JSON.stringify(
      Object.assign({}, state, { entries: state.entries.filter((entry) => !entry.pending) })
    );
  }

  function saveState() {
    while (state.entries.length > MAX_STORED_ENTRIES) state.entries.shift();
    let serialized = storedState();
    while (serialized.length > MAX_STORED_CHARS && state.entries.length > 1) {
      state.entries.shift();
      serialized = storedState();
    }
    try {
      localStorage.setItem(STORAGE_KEY, serialized);
    } catch (error) {
      // private mode or full: the conversation still works, it just won't survive a reload
    }
  }

  let state = loadState();

  // ---- DOM helpers ----------------------------------------------------------------

  function hasOwn(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /**
   * `template`'s parts with its {fields} replaced by `values` (strings or nodes), for
   * append(): ("No. {atm_id}", {atm_id: "ATM-1"}) -> ["No. ", "ATM-1", ""]. Only the
   * template's own fields are replaced, never a field inside a value.
   */
  function filled(template, values) {
    return template.split(/\{(\w+)\}/).map((part, at) => {
      if (at % 2 === 0) return part;
      return hasOwn(values, part) ? values[part] : "{" + part + "}";
    });
  }

  /** `template` with its {fields} replaced by the strings in `values`. */
  function fill(template, values) {
    return filled(template, values).join("");
  }

  /** The key of `labels` for `risk`; the highest when it is not one of them. */
  function riskLevel(labels, risk) {
    return typeof risk === "string" && hasOwn(labels, risk) ? risk : "high";
  }

  function telLink(number, className) {
    const link = element("a", className, number);
    link.href = "tel:" + number;
    return link;
  }

  function isCallable(number, callable) {
    return typeof number === "string" && DIGITS.test(number) && callable.has(number);
  }

  /** Appends `text` with the callable numbers in it as tel: links; other digits stay text. */
  function appendLinkedText(parent, text, callable) {
    const numbers = Array.from(callable).sort((a, b) => b.length - a.length);
    if (!numbers.length) {
      parent.append(text);
      return;
    }
    // (^|\D) instead of a lookbehind: older Safari cannot parse lookbehinds.
    const pattern = new RegExp("(^|\\D)(" + numbers.join("|") + ")(?!\\d)", "g");
    let done = 0;
    let match;
    while ((match = pattern.exec(text)) !== null) {
      const start = match.index + match[1].length;
      parent.append(text.slice(done, start), telLink(match[2]));
      done = start + match[2].length;
    }
    parent.append(text.slice(done));
  }

  // ---- the widget's DOM -----------------------------------------------------------

  const root = element("div", "fzw-root");
  root.hidden = true; // until the stylesheet is in, so nothing flashes unstyled

  const launcher = element("button", "fzw-launcher");
  launcher.type = "button";

  const panel = element("section", "fzw-panel");

  const header = element("header", "fzw-header");
  const title = element("h2", "fzw-title");
  const closeButton = element("button", "fzw-header-button");
  closeButton.type = "button";
  const headerCall = element("a", "fzw-header-call");
  headerCall.href = "tel:" + bankHotline;
  const restartButton = element("button", "fzw-header-button");
  restartButton.type = "button";
  const titleRow = element("div", "fzw-header-row");
  titleRow.append(title, closeButton);
  const toolRow = element("div", "fzw-header-row");
  toolRow.append(headerCall, restartButton);
  header.append(titleRow, toolRow);

  const log = element("div", "fzw-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");

  const typing = element("div", "fzw-typing");
  typing.setAttribute("role", "status");
  typing.hidden = true;
  const typingWords = element("span", "");
  typing.append(
    element("span", "fzw-dot"),
    element("span", "fzw-dot"),
    element("span", "fzw-dot"),
    typingWords
  );

  const composer = element("form", "fzw-composer");
  const inputLabel = element("label", "fzw-visually-hidden");
  inputLabel.htmlFor = "fzw-input";
  const input = element("textarea", "fzw-input");
  input.id = "fzw-input";
  input.rows = 2;
  input.maxLength = config.maxMessageChars;
  input.setAttribute("enterkeyhint", "send");
  const sendButton = element("button", "fzw-send");
  sendButton.type = "submit";
  composer.append(inputLabel, input, sendButton);

  // The large picture button: the phone offers its camera or its gallery (accept only,
  // no `capture`, which would force the camera).
  const imageRow = element("div", "fzw-image-row");
  const imageButton = element("button", "fzw-image-button", texts.image_button);
  imageButton.type = "button";
  imageButton.setAttribute("aria-label", texts.image_button_label);
  const imageInput = element("input", "fzw-visually-hidden");
  imageInput.type = "file";
  imageInput.accept = "image/*";
  imageInput.tabIndex = -1;
  imageInput.setAttribute("aria-hidden", "true");
  imageRow.append(imageButton, imageInput);

  panel.append(header, log, typing, imageRow, composer);
  root.append(launcher, panel);

  /** The widget's own words in `next` (a key of config.texts): its controls and labels.
   * The conversation so far keeps the words it was shown in. */
  function setLanguage(next) {
    language = knownLanguage(next) || pageLanguage;
    texts = config.texts[language];
    textsLanguage = language;
    root.lang = language;
    launcher.textContent = texts.launcher;
    launcher.setAttribute("aria-label", texts.open);
    panel.setAttribute("aria-label", texts.title);
    title.textContent = texts.title;
    closeButton.textContent = texts.close;
    closeButton.setAttribute("aria-label", texts.close_label);
    headerCall.textContent = texts.call_hotline;
    restartButton.textContent = texts.restart;
    log.setAttribute("aria-label", texts.log_label);
    typingWords.textContent = texts.typing;
    inputLabel.textContent = texts.input_label;
    input.placeholder = texts.input_example;
    sendButton.textContent = texts.send;
  }

  /** Runs draw() with the words of `entryLanguage` (a stored reply's), then the current. */
  function inLanguage(entryLanguage, draw) {
    const current = textsLanguage;
    textsLanguage = knownLanguage(entryLanguage) || language;
    texts = config.texts[textsLanguage];
    try {
      return draw();
    } finally {
      textsLanguage = current;
      texts = config.texts[current];
    }
  }

  /** Who owns an official number, in the words being drawn. */
  function ownerOf(number) {
    const owners = (config.officialNumbersByLanguage || {})[textsLanguage] || directory;
    return owners[number] || directory[number];
  }

  // ---- rendering ------------------------------------------------------------------

  /** The directory's numbers: the only ones ever dialable, whatever a reply lists. */
  function officialNumbers() {
    return new Set(Object.keys(directory));
  }

  function welcome() {
    const bubble = element("div", "fzw-msg fzw-msg-bot");
    appendLinkedText(bubble, texts.greeting, officialNumbers());
    return bubble;
  }

  function userBubble(text) {
    return element("div", "fzw-msg fzw-msg-user", text);
  }

  function stringList(value) {
    return Array.isArray(value) ? value.filter((item) => typeof item === "string") : [];
  }

  /** What the server read in a picture: its own card, the text as lines. */
  function readTextCard(payload) {
    const section = element("section", "fzw-card fzw-card-read");
    section.append(element("p", "fzw-card-heading", texts.image_read));
    const body = element("div", "fzw-read-text");
    for (const line of String(payload.text).split("\n")) body.append(element("p", "", line));
    section.append(body);
    return section;
  }

  function card(levelClass, band) {
    const section = element("section", "fzw-card " + levelClass);
    section.append(element("p", "fzw-card-band", band));
    const body = element("div", "fzw-card-body");
    section.append(body);
    return { section, body };
  }

  function appendSteps(body, steps, callable) {
    if (!steps.length) return;
    body.append(element("p", "fzw-card-heading", texts.do_now));
    const list = element("ol", "fzw-steps");
    for (const step of steps) {
      const item = element("li");
      appendLinkedText(item, step, callable);
      list.append(item);
    }
    body.append(list);
  }

  /** A heading and one line per item: `label：“quote”` (a reason or a genuine sign). */
  function appendQuoted(body, heading, items) {
    const lines = (Array.isArray(items) ? items : []).filter(
      (item) => item && typeof item === "object" && typeof item.label === "string"
    );
    if (!lines.length) return;
    body.append(element("p", "fzw-card-heading", heading));
    const list = element("ul", "fzw-reasons");
    for (const item of lines) {
      const quoted = typeof item.quote === "string" && item.quote;
      const line = quoted ? fill(texts.quoted, { label: item.label, quote: item.quote }) : item.label;
      list.append(element("li", "", line));
    }
    body.append(list);
  }

  function callButton(number) {
    const link = element("a", "fzw-call");
    link.href = "tel:" + number;
    link.append(element("span", "fzw-call-number", fill(texts.call, { number })));
    if (directory[number]) link.append(element("span", "fzw-call-owner", ownerOf(number)));
    return link;
  }

  function appendCalls(body, numbers, callable) {
    const dialable = numbers.filter((number) => isCallable(number, callable));
    if (!dialable.length) return;
    body.append(element("p", "fzw-card-heading", texts.dial_yourself));
    const calls = element("div", "fzw-calls");
    for (const number of dialable) calls.append(callButton(number));
    body.append(calls);
  }

  /** Copies `text`: the Clipboard API, else a selected textarea and execCommand("copy"). */
  async function copyText(text) {
    if (navigator.clipboard && navigator.clipboard.writeText && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (error) {
        // refused (permission, no focus): try the old way
      }
    }
    const scratch = element("textarea", "fzw-copy-scratch");
    scratch.value = text;
    scratch.readOnly = true; // no keyboard popping up on phones
    scratch.setAttribute("aria-hidden", "true");
    scratch.tabIndex = -1;
    root.append(scratch);
    scratch.select();
    scratch.setSelectionRange(0, text.length); // iOS selects nothing with select() alone
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    scratch.remove();
    return copied;
  }

  function actionButton(label, className) {
    const button = element("button", "fzw-action " + (className || ""), label);
    button.type = "button";
    return button;
  }

  const CARD_RENDERERS = {
    image_text(payload) {
      return readTextCard(payload);
    },
    scam_assessment(payload, callable) {
      const words = texts.scam_assessment;
      const bands = words.band_by_risk;
      const level = riskLevel(bands, payload.risk);
      // Low with no scam type: it looks like a genuine notice. A calm card, not a red one.
      if (level === "low" && payload.scam_type === null) {
        const { section, body } = card("fzw-level-info fzw-card-genuine", words.genuine_band);
        appendQuoted(body, words.signs, payload.genuine_signs);
        appendCalls(body, stringList(payload.hotlines), callable);
        return section;
      }
      const { section, body } = card("fzw-level-" + level, bands[level]);
      if (typeof payload.scam_name === "string") {
        body.append(element("h3", "fzw-card-title", payload.scam_name));
      }
      appendQuoted(body, words.reasons, payload.reasons);
      appendSteps(body, stringList(payload.steps), callable);
      appendCalls(body, stringList(payload.hotlines), callable);
      return section;
    },
    emergency(payload, callable) {
      const { section, body } = card("fzw-level-high", texts.emergency.band);
      appendSteps(body, stringList(payload.steps), callable);
      appendCalls(body, stringList(payload.hotlines), callable);
      return section;
    },
    number_check(payload, callable) {
      const words = texts.number_check;
      if (payload.official !== true) {
        // Never repeat an unofficial number: that would look like an endorsement.
        const { section, body } = card("fzw-level-high", words.unofficial_band);
        body.append(element("p", "fzw-card-note", words.unofficial_note));
        return section;
      }
      const { section, body } = card("fzw-level-safe", words.official_band);
      if (typeof payload.owner === "string") {
        body.append(element("h3", "fzw-card-title", payload.owner));
      }
      body.append(element("p", "fzw-card-note", words.official_note));
      appendCalls(body, [payload.number], callable);
      return section;
    },
    atm_alert(payload, callable) {
      const { section, body } = card("fzw-level-high fzw-card-urgent", texts.atm_alert.band);
      const list = element("ol", "fzw-steps fzw-atm-actions");
      for (const action of texts.atm_alert.actions) list.append(element("li", "", action));
      body.append(list);
      appendCalls(body, stringList(payload.hotlines), callable);
      if (typeof payload.atm_id === "string" && payload.atm_id) {
        const atmNumber = fill(texts.atm_number, { atm_id: payload.atm_id });
        body.append(element("p", "fzw-card-small", atmNumber));
      }
      return section;
    },
    link_check(payload) {
      const words = texts.link_check;
      if (payload.official !== true) {
        // Never repeat an unofficial link or its host: it would look like one to open.
        const level = riskLevel(words.band_by_risk, payload.risk);
        const { section, body } = card("fzw-level-" + level, words.band_by_risk[level]);
        body.append(element("h3", "fzw-card-title", words.unofficial_title));
        body.append(element("p", "fzw-card-note", words.unofficial_note));
        return section;
      }
      const { section, body } = card("fzw-level-safe", words.official_band);
      if (typeof payload.owner === "string" && payload.owner) {
        body.append(element("h3", "fzw-card-title", payload.owner));
      }
      if (typeof payload.host === "string" && payload.host) {
        // Plain text, not a link: the advice is to type the address yourself.
        const site = element("p", "fzw-card-note");
        const host = element("span", "fzw-host", payload.host);
        site.append(...filled(words.site, { host }));
        body.append(site);
      }
      body.append(element("p", "fzw-card-note", words.official_note));
      return section;
    },
    handoff(payload, callable) {
      const words = texts.handoff;
      const { section, body } = card("fzw-level-info", words.band);
      const reference = payload.reference;
      if (typeof reference === "string" && REFERENCE.test(reference)) {
        body.append(element("p", "fzw-card-heading", words.reference));
        body.append(element("p", "fzw-reference", reference));
        body.append(element("p", "fzw-card-note", words.read_out));
      } else {
        body.append(element("p", "fzw-card-note", words.no_reference));
      }
      appendCalls(body, stringList(payload.hotlines), callable);
      return section;
    },
    share_text(payload) {
      const text = typeof payload.text === "string" ? payload.text : "";
      const words = texts.share_text;
      const { section, body } = card("fzw-level-info", words.band);
      body.append(element("p", "fzw-share-text", text));
      const actions = element("div", "fzw-actions");
      const copy = actionButton(words.copy, "fzw-copy");
      const status = element("p", "fzw-card-note fzw-copy-status");
      status.setAttribute("role", "status");
      copy.addEventListener("click", async () => {
        status.textContent = "";
        const copied = await copyText(text);
        status.textContent = copied ? words.copied : words.not_copied;
        copy.focus();
        status.scrollIntoView({ block: "nearest" });
      });
      actions.append(copy);
      if (typeof navigator.share === "function") {
        const share = actionButton(words.share, "fzw-share");
        share.addEventListener("click", () => {
          navigator.share({ text }).catch(() => {
            // cancelled, or nothing to share to: the copy button still works
          });
        });
        actions.append(share);
      }
      body.append(actions, status);
      return section;
    },
  };
  // Shown above the reply's text: the first thing seen, at the top of the screen.
  const CARDS_FIRST = new Set(["atm_alert", IMAGE_TEXT]);

  function knownCard(message) {
    const payload = message.custom;
    return payload && typeof payload === "object" && CARD_RENDERERS[payload.type]
      ? payload
      : null;
  }

  function firstParagraph(text) {
    return text.split("\n\n")[0];
  }

  /**
   * The reply's texts, less what its cards already show. A card with steps or the text
   * to forward keeps only the text's first paragraph (the verdict, the introduction);
   * the ATM card replaces the first paragraph (stop, take the card, hang up).
   */
  function textsToShow(messages, cards) {
    const replyTexts = messages
      .filter((message) => !(knownCard(message) && message.custom.type === IMAGE_TEXT))
      .map((message) => message.text)
      .filter((text) => typeof text === "string" && text.trim());
    const types = new Set(cards.map((payload) => payload.type));
    if (cards.some((payload) => stringList(payload.steps).length) || types.has("share_text")) {
      return replyTexts.map(firstParagraph);
    }
    if (types.has("atm_alert") && replyTexts.length) {
      const rest = replyTexts[0].split("\n\n").slice(1).join("\n\n");
      return rest.trim() ? [rest].concat(replyTexts.slice(1)) : replyTexts.slice(1);
    }
    return replyTexts;
  }

  /** One reply: texts, then cards, then the reply's buttons last, where the eye ends. */
  function renderReply(messages) {
    const nodes = [];
    const cards = messages.map(knownCard).filter(Boolean);
    const textCards = cards.filter((payload) => payload.type !== IMAGE_TEXT);
    const callable = officialNumbers();
    const render = (payload) => CARD_RENDERERS[payload.type](payload, callable);
    for (const payload of cards.filter((p) => CARDS_FIRST.has(p.type))) {
      nodes.push(render(payload));
    }
    for (const text of textsToShow(messages, textCards)) {
      const bubble = element("div", "fzw-msg fzw-msg-bot");
      appendLinkedText(bubble, text, callable);
      nodes.push(bubble);
    }
    for (const payload of cards.filter((p) => !CARDS_FIRST.has(p.type))) {
      nodes.push(render(payload));
    }
    const buttons = [];
    for (const message of messages) {
      if (Array.isArray(message.buttons)) buttons.push(...message.buttons);
    }
    const choices = element("div", "fzw-choices");
    for (const button of buttons) {
      if (!button || typeof button.title !== "string" || typeof button.payload !== "string") {
        continue;
      }
      const choice = element("button", "fzw-choice", button.title);
      choice.type = "button";
      choice.addEventListener("click", () => send(button.payload, button.title));
      choices.append(choice);
    }
    if (choices.childElementCount) nodes.push(choices);
    return nodes;
  }

  function renderEntry(entry) {
    if (entry.kind === "user") return [userBubble(entry.text)];
    if (entry.kind === "bot" && Array.isArray(entry.messages)) {
      const messages = entry.messages.filter((m) => m && typeof m === "object");
      return inLanguage(entry.language, () => renderReply(messages));
    }
    return [];
  }

  function showNodes(nodes) {
    log.append(...nodes);
    return nodes[0];
  }

  /** Brings the start of a new reply to the top: long answers are read from the start. */
  function scrollTo(node) {
    if (node) log.scrollTop = Math.max(0, node.offsetTop - 8);
  }

  /** Shows `entry` and stores it (unless pending); returns its first node. */
  function addEntry(entry) {
    state.entries.push(entry);
    saveState();
    const first = showNodes(renderEntry(entry));
    scrollTo(entry.kind === "bot" ? first : log.lastElementChild);
    return first;
  }

  function renderAll() {
    log.textContent = "";
    log.append(welcome());
    for (const entry of state.entries) showNodes(renderEntry(entry));
    scrollToEnd();
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  // ---- talking to the assistant -----------------------------------------------------

  function maskedInputOf(message) {
    const payload = message && message.custom;
    return payload && typeof payload === "object" && payload.type === MASKED_INPUT
      ? payload
      : null;
  }

  /**
   * The reply as shown and stored, and the customer's message as the server stored it
   * when it masked something in it (else null). The masked text is never a bot bubble.
   */
  function readReply(messages) {
    let maskedText = null;
    const shown = [];
    for (const message of messages) {
      const masked = maskedInputOf(message);
      if (!masked) {
        shown.push(message);
        continue;
      }
      if (typeof masked.text === "string" && maskedText === null) maskedText = masked.text;
      const rest = Object.assign({}, message);
      delete rest.custom;
      if (Object.keys(rest).some((key) => key !== "recipient_id")) shown.push(rest);
    }
    return { messages: shown, maskedText };
  }

  async function postMessage(message) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const reply = await fetch(WEBHOOK_URL, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        // The widget's language: the assistant's answer when the message tells nothing
        // of its own (a button's payload, the ATM entry) and the conversation has none yet.
        body: JSON.stringify({ sender: state.sender, message, metadata: { language } }),
        credentials: "omit",
        signal: controller.signal,
      });
      if (!reply.ok) throw new Error("HTTP " + reply.status);
      const messages = await reply.json();
      if (!Array.isArray(messages)) throw new Error("not a list");
      const answer = readReply(messages.filter((m) => m && typeof m === "object"));
      if (!answer.messages.length) throw new Error("empty reply");
      answer.language = knownLanguage(languageOf(reply.headers.get("Content-Language")));
      return answer;
    } finally {
      clearTimeout(timer);
    }
  }

  function problemBubble(retry) {
    const bubble = element("div", "fzw-msg fzw-msg-problem");
    // What to do now, the numbers in it (110, the bank's hotline) as links to call.
    appendLinkedText(bubble, texts.offline, officialNumbers());
    const again = element("button", "fzw-choice", texts.retry);
    again.type = "button";
    again.addEventListener("click", () => {
      bubble.remove();
      retry();
    });
    const choices = element("div", "fzw-choices");
    choices.append(again);
    bubble.append(choices);
    return bubble;
  }

  let busy = false;

  function setBusy(waiting, status) {
    busy = waiting;
    typing.hidden = !waiting;
    typing.lastElementChild.textContent = status || texts.typing;
    sendButton.disabled = waiting;
    imageButton.disabled = waiting;
    for (const choice of log.querySelectorAll(".fzw-choice")) choice.disabled = waiting;
  }

  /**
   * Sends `message`; `shownAs` is the user's bubble, or null for a message not shown.
   * `onAnswered` runs once the assistant has answered, after a retry too.
   * The bubble is stored only with the answer, as the server stored the message: a
   * message never answered (network down, page closed) is never stored.
   */
  function send(message, shownAs, onAnswered) {
    if (busy) return;
    let user = null;
    if (shownAs !== null) {
      const entry = { kind: "user", text: shownAs, pending: true };
      user = { entry, bubble: addEntry(entry) };
    }
    deliver(message, user, onAnswered || (() => {}));
  }

  /** The customer's bubble as the server stored `message`, now storable. */
  function settle(user, message, maskedText) {
    // A button's bubble shows its title, not the payload sent: only typed text is masked.
    if (maskedText !== null && user.entry.text === message) {
      user.entry.text = maskedText;
      user.bubble.textContent = maskedText;
    }
    delete user.entry.pending;
  }

  async function deliver(message, user, onAnswered) {
    setBusy(true);
    try {
      const answer = await postMessage(message);
      if (user) settle(user, message, answer.maskedText);
      if (answer.language && answer.language !== language) {
        state.language = answer.language;
        setLanguage(answer.language);
      }
      addEntry({ kind: "bot", messages: answer.messages, language: answer.language || language });
      onAnswered();
    } catch (error) {
      scrollTo(showNodes([problemBubble(() => deliver(message, user, onAnswered))]));
    } finally {
      setBusy(false);
    }
  }

  // ---- pictures: a screenshot or a photo of one -------------------------------------

  /** `file` as a JPEG no larger than needed (see IMAGE_MAX_SIDE); the file itself when
   * this browser cannot decode it: the server then says what is wrong with it. */
  async function shrink(file) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (error) {
      return file;
    }
    const { width, height } = bitmap;
    const longSide = Math.max(width, Math.min(height, width * IMAGE_LONG_RATIO));
    const scale = Math.min(1, IMAGE_MAX_SIDE / longSide);
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff"; // a transparent PNG reads as on a phone's white screen
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    if (bitmap.close) bitmap.close();
    const blob = await new Promise((resolve) => {
      canvas.toBlob(resolve, "image/jpeg", IMAGE_QUALITY);
    });
    return blob || file;
  }

  /** Posts the picture; the reply as postMessage's, or an Error whose `reply` is the
   * server's reason for a picture it could not read (a 4xx with {"error": ...}). */
  async function postImage(picture) {
    const form = new FormData();
    form.append("sender", state.sender);
    form.append("image", picture, "screenshot.jpg");
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), IMAGE_TIMEOUT_MS);
    try {
      const reply = await fetch(IMAGE_URL, {
        method: "POST",
        body: form,
        credentials: "omit",
        signal: controller.signal,
      });
      const body = await reply.json().catch(() => null);
      if (!reply.ok) {
        const failure = new Error("HTTP " + reply.status);
        if (reply.status >= 400 && reply.status < 500 || reply.status === 503) {
          if (body && typeof body.error === "string") failure.reply = body.error;
        }
        throw failure;
      }
      if (!Array.isArray(body)) throw new Error("not a list");
      const answer = readReply(body.filter((m) => m && typeof m === "object"));
      if (!answer.messages.length) throw new Error("empty reply");
      return answer;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends a picture: the bubble says one was sent (the picture itself is neither shown
   * again nor stored), then what was read and the verdict, in that order. */
  async function sendImage(file) {
    if (busy || !file) return;
    const entry = { kind: "user", text: texts.image_sent, pending: true };
    addEntry(entry);
    setBusy(true, texts.image_reading);
    try {
      const answer = await postImage(await shrink(file));
      delete entry.pending;
      addEntry({ kind: "bot", messages: answer.messages });
    } catch (error) {
      delete entry.pending;
      const reason = typeof error.reply === "string" ? error.reply : texts.image_failed;
      addEntry({ kind: "bot", messages: [{ text: reason }] });
    } finally {
      setBusy(false);
    }
  }

  imageButton.addEventListener("click", () => {
    if (!busy) imageInput.click();
  });

  imageInput.addEventListener("change", () => {
    const file = imageInput.files && imageInput.files[0];
    imageInput.value = ""; // the same picture may be chosen again
    sendImage(file);
  });

  // ---- ATM mode: opened from the QR code on an ATM ----------------------------------

  function atmIdFromPage() {
    const params = new URLSearchParams(window.location.search);
    const atmId = params.get("atm");
    return params.get("entry") === "atm" && atmId && ATM_ID.test(atmId) ? atmId : null;
  }

  function startAtmConversation() {
    const atmId = atmIdFromPage();
    if (!atmId || state.atmStarted.includes(atmId)) return;
    setOpen(true);
    send("/atm_entry" + JSON.stringify({ atm_id: atmId }), null, () => {
      state.atmStarted.push(atmId);
      saveState();
    });
  }

  // ---- controls -----------------------------------------------------------------------

  function setOpen(open) {
    state.open = open;
    saveState();
    panel.hidden = !open;
    launcher.hidden = open;
    if (open) scrollToEnd();
  }

  launcher.addEventListener("click", () => {
    setOpen(true);
    input.focus();
  });

  closeButton.addEventListener("click", () => {
    setOpen(false);
    launcher.focus();
  });

  restartButton.addEventListener("click", () => {
    if (busy) return;
    state = freshState();
    setLanguage(pageLanguage);
    setOpen(true);
    renderAll();
    input.value = "";
    input.focus();
    startAtmConversation();
  });

  function sendTyped() {
    const text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    send(text, text);
  }

  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    sendTyped();
  });

  input.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter is a new line, and the Enter that picks characters in a
    // Chinese input method is neither (Safari reports that one only as keyCode 229).
    const composing = event.isComposing || event.keyCode === 229;
    if (event.key === "Enter" && !event.shiftKey && !composing) {
      event.preventDefault();
      sendTyped();
    }
  });

  function start() {
    const stylesheet = document.createElement("link");
    stylesheet.rel = "stylesheet";
    stylesheet.href = STYLESHEET_URL;
    stylesheet.onload = stylesheet.onerror = () => {
      root.hidden = false;
      scrollToEnd();
    };
    document.head.append(stylesheet);
    setLanguage(state.language || pageLanguage);
    // History goes in before the log is in the page, so screen readers don't re-read it.
    renderAll();
    setOpen(state.open === null ? script.hasAttribute("data-open") : state.open);
    document.body.append(root);
    startAtmConversation();
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})(__WIDGET_CONFIG__);

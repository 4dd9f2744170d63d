// stdbot web chat. Every text from the server is put on the page with textContent, never parsed as HTML.
(function () {
  "use strict";

  const labels = JSON.parse(document.getElementById("chat-labels").textContent);
  const api = document.body.dataset.api;
  const maxChars = Number(document.body.dataset.maxChars) || 2000;
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const sendButton = document.getElementById("send");
  const handoffButton = document.getElementById("handoff");
  const statusLine = document.getElementById("status");
  const storageKey = "stdbot.chat.session";
  const shown = new Set();
  let session = null;
  let lastId = 0;
  let events = null;

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setStatus(text) {
    statusLine.textContent = text || "";
    statusLine.hidden = !text;
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function authorLabel(author) {
    return author === "user" ? labels.you : labels[author] || labels.bot;
  }

  function showMessage(message) {
    if (message.message_id) {
      if (shown.has(message.message_id)) return;
      shown.add(message.message_id);
      lastId = Math.max(lastId, message.message_id);
    }
    const author = message.author || "bot";
    const box = element("div", "msg msg-" + author);
    box.appendChild(element("div", "author", authorLabel(author)));
    const suggestions = message.suggestions || [];
    // With buttons for the offered questions, the bubble keeps only the text's opening line: the
    // numbered list below it is for channels without buttons.
    const text = suggestions.length ? String(message.text).split("\n")[0] : message.text;
    box.appendChild(element("div", "bubble", text));
    const citations = message.citations || [];
    if (citations.length) {
      const cites = element("div", "cites", labels.citations + "：");
      const list = element("ul");
      citations.forEach(function (citation) {
        list.appendChild(element("li", null, citation.label));
      });
      cites.appendChild(list);
      box.appendChild(cites);
    }
    if (suggestions.length) box.appendChild(suggestionButtons(suggestions));
    if (author === "bot" && message.message_id) box.appendChild(feedbackButtons(message.message_id));
    log.appendChild(box);
    scrollDown();
  }

  function suggestionButtons(questions) {
    const row = element("div", "suggestions");
    row.setAttribute("role", "group");
    row.setAttribute("aria-label", labels.suggestions);
    questions.forEach(function (question, index) {
      const button = element("button", "suggestion", (index + 1) + ". " + question);
      button.type = "button";
      button.addEventListener("click", function () { send(question); });
      row.appendChild(button);
    });
    return row;
  }

  function showError(text) {
    const box = element("div", "msg msg-system msg-error");
    box.appendChild(element("div", "bubble", text || labels.error));
    log.appendChild(box);
    scrollDown();
  }

  function feedbackButtons(messageId) {
    const row = element("div", "feedback");
    const up = element("button", null, "👍");
    const down = element("button", null, "👎");
    up.type = down.type = "button";
    up.title = labels.like;
    down.title = labels.dislike;
    up.setAttribute("aria-label", labels.like);
    down.setAttribute("aria-label", labels.dislike);
    function choose(value, pressed) {
      up.disabled = down.disabled = true;
      pressed.setAttribute("aria-pressed", "true");
      post("/feedback", { message_id: messageId, value: value })
        .then(function (data) {
          row.appendChild(element("span", null, labels.feedback_thanks));
          if (data.reply) showMessage(data.reply);
        })
        .catch(function (error) {
          up.disabled = down.disabled = false;
          pressed.removeAttribute("aria-pressed");
          showError(error.message);
        });
    }
    up.addEventListener("click", function () { choose(1, up); });
    down.addEventListener("click", function () { choose(-1, down); });
    row.appendChild(up);
    row.appendChild(down);
    return row;
  }

  function request(path, options) {
    return fetch(api + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          const error = new Error(data.error || labels.error);
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function post(path, body, retried) {
    return ensureSession().then(function (current) {
      const payload = Object.assign({ session_id: current.session_id, token: current.token }, body);
      return request(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
      }).catch(function (error) {
        if (error.status === 403 && !retried) {
          forgetSession();
          return post(path, body, true);
        }
        throw error;
      });
    });
  }

  function ensureSession() {
    if (session) return Promise.resolve(session);
    return request("/sessions", { method: "POST" }).then(function (data) {
      session = { session_id: data.session_id, token: data.token };
      try { localStorage.setItem(storageKey, JSON.stringify(session)); } catch (ignored) { /* private mode */ }
      listen();
      return session;
    });
  }

  function forgetSession() {
    session = null;
    if (events) events.close();
    events = null;
    try { localStorage.removeItem(storageKey); } catch (ignored) { /* private mode */ }
  }

  function query() {
    return "session_id=" + encodeURIComponent(session.session_id) + "&token=" + encodeURIComponent(session.token);
  }

  function listen() {
    if (events) events.close();
    events = new EventSource(api + "/events?" + query() + "&after=" + lastId);
    events.onmessage = function (event) {
      setStatus("");
      showMessage(JSON.parse(event.data));
    };
    events.onopen = function () { setStatus(""); };
    events.onerror = function () { setStatus(labels.offline); };
  }

  function restore() {
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(storageKey) || "null"); } catch (ignored) { saved = null; }
    if (!saved || !saved.session_id || !saved.token) return;
    session = saved;
    request("/history?" + query(), {})
      .then(function (data) {
        data.messages.forEach(showMessage);
        listen();
      })
      .catch(function () { forgetSession(); });
  }

  function clientId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function fitInput() {
    input.style.height = "auto";
    if (input.value) input.style.height = input.scrollHeight + 2 + "px"; // + borders; CSS caps it
  }

  function busy(button, on, text) {
    button.disabled = on;
    button.textContent = text;
  }

  function send(text) {
    if (sendButton.disabled) return;
    const mine = { author: "user", text: text };
    showMessage(mine);
    busy(sendButton, true, labels.sending);
    post("/messages", { text: text, client_message_id: clientId() })
      .then(function (data) {
        if (data.message_id) shown.add(data.message_id);
        if (data.reply) showMessage(data.reply);
      })
      .catch(function (error) {
        showError(error.message);
        if (!input.value) input.value = text;
        fitInput();
      })
      .finally(function () { busy(sendButton, false, labels.send); input.focus(); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (text.length > maxChars) {
      showError(labels.too_long);
      return;
    }
    input.value = "";
    fitInput();
    send(text);
  });

  input.addEventListener("input", fitInput);

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  handoffButton.addEventListener("click", function () {
    busy(handoffButton, true, labels.handoff_busy);
    showMessage({ author: "user", text: labels.handoff });
    post("/handoff", { client_message_id: clientId() })
      .then(function (data) { if (data.reply) showMessage(data.reply); })
      .catch(function (error) { showError(error.message); })
      .finally(function () { busy(handoffButton, false, labels.handoff); });
  });

  restore();
})();

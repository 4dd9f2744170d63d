// Staff console: live queue and transcript by polling small JSON endpoints every 3 s.
// Every text from the server is set with textContent, never as HTML.
(function () {
  "use strict";
  var POLL_MS = 3000;

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function getJSON(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Requested-With": "fetch" }
    }).then(function (response) {
      if (response.status === 401) { window.location.assign("/console/login"); throw new Error("login"); }
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  function every(ms, task) {
    var running = false;
    window.setInterval(function () {
      if (running || document.hidden) return;
      running = true;
      task().catch(function () {}).then(function () { running = false; });
    }, ms);
  }

  function liveQueue(table) {
    var body = document.getElementById("queue-body");
    every(POLL_MS, function () {
      return getJSON(table.dataset.source).then(function (data) {
        var rows = document.createDocumentFragment();
        data.items.forEach(function (item) {
          var row = el("tr");
          var wait = el("td", item.waiting);
          wait.title = item.since;
          row.appendChild(wait);
          row.appendChild(el("td", item.channel));
          row.appendChild(el("td", item.user));
          row.appendChild(el("td", item.reason));
          row.appendChild(el("td", item.claimed_by || table.dataset.unclaimed));
          var cell = el("td");
          var link = el("a", table.dataset.open);
          link.href = "/console/conversations/" + encodeURIComponent(item.conversation_id);
          cell.appendChild(link);
          row.appendChild(cell);
          rows.appendChild(row);
        });
        if (!data.items.length) {
          var empty = el("tr", null, "empty");
          var td = el("td", table.dataset.empty);
          td.colSpan = 6;
          empty.appendChild(td);
          rows.appendChild(empty);
        }
        body.replaceChildren(rows);
      });
    });
  }

  function messageItem(list, m) {
    var item = el("li", null, "msg msg-" + m.author_kind);
    item.id = "m" + m.id;
    var meta = el("div", null, "meta");
    meta.appendChild(el("strong", m.author));
    var extra = " · " + m.time;
    if (m.confidence !== null) extra += " · " + list.dataset.confidence + " " + m.confidence;
    if (m.mode) extra += " · " + m.mode;
    meta.appendChild(document.createTextNode(extra));
    item.appendChild(meta);
    item.appendChild(el("div", m.text, "text"));
    if (m.delivery) item.appendChild(deliveryLine(m.id, m.delivery));
    if (m.citations.length) {
      var details = el("details", null, "citations");
      details.appendChild(el("summary", list.dataset.citations + "（" + m.citations.length + "）"));
      var ul = el("ul");
      m.citations.forEach(function (c) {
        var li = el("li");
        li.appendChild(el("strong", c.label));
        li.appendChild(el("div", c.text, "quote"));
        ul.appendChild(li);
      });
      details.appendChild(ul);
      item.appendChild(details);
    }
    return item;
  }

  function deliveryLine(messageId, delivery) {
    var line = el("div", null, "delivery delivery-" + delivery.state);
    line.dataset.delivery = String(messageId);
    line.appendChild(el("span", delivery.label, "delivery-label"));
    if (delivery.error) line.appendChild(el("span", "：" + delivery.error, "delivery-error"));
    return line;
  }

  function updateDeliveries(deliveries) {
    Object.keys(deliveries || {}).forEach(function (messageId) {
      var current = document.querySelector('[data-delivery="' + messageId + '"]');
      var delivery = deliveries[messageId];
      if (!current || current.classList.contains("delivery-" + delivery.state)) return;
      if (current.querySelector("form")) return;  // a retry form: the page was rendered with it, leave it
      current.replaceWith(deliveryLine(messageId, delivery));
    });
  }

  function liveTranscript(list) {
    var after = Number(list.dataset.after) || 0;
    var state = document.getElementById("state");
    every(POLL_MS, function () {
      return getJSON(list.dataset.source + "?after=" + after).then(function (data) {
        if (state) state.textContent = data.state;
        data.messages.forEach(function (m) {
          after = Math.max(after, m.id);
          if (!document.getElementById("m" + m.id)) list.appendChild(messageItem(list, m));
        });
        updateDeliveries(data.deliveries);
      });
    });
  }

  function guardDoubleSubmit() {
    document.querySelectorAll("form[method=post]").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) {
          window.setTimeout(function () { b.disabled = true; }, 0);
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var queue = document.getElementById("queue");
    if (queue) liveQueue(queue);
    var transcript = document.getElementById("transcript");
    if (transcript) liveTranscript(transcript);
    guardDoubleSubmit();
  });
})();

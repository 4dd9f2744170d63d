// Admin pages: the knowledge-base job's progress, polled every second while it runs.
// Every text from the server is set with textContent, never as HTML.
(function () {
  "use strict";
  var POLL_MS = 1000;

  function getJSON(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Requested-With": "fetch" }
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  function followJob(card) {
    var stage = document.getElementById("kb-job-stage");
    var count = document.getElementById("kb-job-count");
    var bar = document.getElementById("kb-job-bar");
    var labels = card.dataset;
    var timer = window.setInterval(function () {
      getJSON(card.dataset.source).then(function (data) {
        var job = data.job;
        if (!job || job.state !== "running") {
          window.clearInterval(timer);
          window.location.reload();
          return;
        }
        if (stage && labels["stage" + job.stage]) stage.textContent = labels["stage" + job.stage];
        if (count) count.textContent = job.total ? job.done + "/" + job.total : "";
        if (bar && job.total) { bar.max = job.total; bar.value = job.done; }
      }).catch(function () {});
    }, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var card = document.getElementById("kb-job");
    if (card && card.dataset.running === "1") followJob(card);
  });
})();

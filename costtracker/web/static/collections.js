// The collection panel: "collect this month now" (admins) posts to /api/collect with the CSRF
// header (costtracker.fetch from csrf.js), then follows /api/runs/{id} until the run ends; and
// each run's log is fetched when its details are opened.
(function () {
  "use strict";
  var form = document.getElementById("collect-form");
  var POLL_MS = 1000;

  function say(text, kind) {
    var status = document.getElementById("collect-status");
    status.textContent = text;
    status.className = "collect-status " + (kind || "");
  }

  function logText(run) {
    return (run.log || []).map(function (line) { return line.at.slice(11, 19) + "  " + line.message; }).join("\n");
  }

  function follow(id) {
    window.fetch("/api/runs/" + id, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (run) {
        var log = document.getElementById("collect-log");
        log.hidden = false;
        log.textContent = logText(run);
        if (run.status === "running") {
          say(form.getAttribute("data-msg-running"), "running");
          window.setTimeout(function () { follow(id); }, POLL_MS);
          return;
        }
        say(form.getAttribute("data-msg-done") + " — #" + id + ": " + run.status, "status-" + run.status);
        form.querySelector("button").disabled = false;
        window.setTimeout(function () { window.location.reload(); }, 1500);
      })
      .catch(function () { window.setTimeout(function () { follow(id); }, POLL_MS * 3); });
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var month = document.getElementById("collect-month").value;
      form.querySelector("button").disabled = true;
      window.costtracker.fetch("/api/collect?month=" + encodeURIComponent(month), { method: "POST" })
        .then(function (response) {
          return response.json().then(function (body) {
            if (response.status !== 202) throw new Error((body.error && body.error.message) || "");
            say(form.getAttribute("data-msg-started").replace("{id}", body.run_id), "running");
            follow(body.run_id);
          });
        })
        .catch(function (error) {
          say(form.getAttribute("data-msg-failed") + " " + error.message, "status-failed");
          form.querySelector("button").disabled = false;
        });
    });
  }

  function showLog(details) {
    var log = details.querySelector("[data-log]");
    if (!details.open || !log || log.getAttribute("data-loaded")) return;
    log.setAttribute("data-loaded", "true");
    window.fetch("/api/runs/" + details.getAttribute("data-run"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (run) {
        log.textContent = logText(run);
        log.hidden = false;
      });
  }

  document.querySelectorAll("details[data-run]").forEach(function (details) {
    details.addEventListener("toggle", function () { showLog(details); });
    showLog(details);  // the latest run is open from the start
  });
})();

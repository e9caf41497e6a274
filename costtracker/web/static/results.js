// Loads a page's results in place when its period (or, in the explorer, its selection) changes:
// the form still works without JavaScript (a GET of the whole page); with it, only the results
// part is fetched from the form's data-results URL, the address bar follows, and loading, error
// and "cannot reach the server" states are shown where the results go.
(function () {
  "use strict";
  var form = document.getElementById("controls");
  var target = document.getElementById("results");
  if (!form || !target || !form.hasAttribute("data-results")) return;
  var pending = null;

  function message(name) { return form.getAttribute("data-msg-" + name) || name; }

  // The selection as query parameters: a preset, or a custom range, never both.
  function query(extra) {
    var params = new URLSearchParams();
    ["provider", "workspace", "project"].forEach(function (name) {
      var field = form.elements[name];
      if (field && field.value && !(field.closest("[hidden]"))) params.set(name, field.value);
    });
    var preset = form.getAttribute("data-preset");
    if (preset) params.set("preset", preset);
    else {
      if (form.elements.start.value) params.set("start", form.elements.start.value);
      if (form.elements.end.value) params.set("end", form.elements.end.value);
    }
    Object.keys(extra || {}).forEach(function (name) { params.set(name, extra[name]); });
    return params;
  }

  function showState(kind, text) {
    target.setAttribute("aria-busy", kind === "loading" ? "true" : "false");
    target.classList.toggle("loading", kind === "loading");
    var note = document.getElementById("results-state");
    if (!note) {
      note = document.createElement("p");
      note.id = "results-state";
      note.setAttribute("role", "status");
      target.parentNode.insertBefore(note, target);
    }
    note.className = "results-state state-" + kind;
    note.textContent = text || "";
    note.hidden = !text;
  }

  function adopt() {
    var resolved = document.getElementById("resolved");
    if (resolved) {
      if (resolved.getAttribute("data-start")) form.elements.start.value = resolved.getAttribute("data-start");
      if (resolved.getAttribute("data-end")) form.elements.end.value = resolved.getAttribute("data-end");
      form.setAttribute("data-preset", resolved.getAttribute("data-preset") || "");
    }
    form.querySelectorAll("button[data-preset]").forEach(function (button) {
      button.setAttribute("aria-pressed", button.getAttribute("data-preset") === form.getAttribute("data-preset") ? "true" : "false");
    });
    if (window.costtracker && window.costtracker.drawCharts) window.costtracker.drawCharts(target);
  }

  // The language and theme links carry the page's current choices, so switching keeps them.
  function keepSwitches(params) {
    document.querySelectorAll("a[data-switch]").forEach(function (link) {
      var query = new URLSearchParams(params);
      query.delete("refresh");
      query.set(link.getAttribute("data-switch"), link.getAttribute("data-value"));
      link.setAttribute("href", form.getAttribute("action") + "?" + query.toString());
    });
  }

  function load(extra) {
    var params = query(extra);
    var refresh = params.get("refresh");
    params.delete("refresh");
    var address = form.getAttribute("action") + (params.toString() ? "?" + params.toString() : "");
    if (refresh) params.set("refresh", refresh);
    var url = form.getAttribute("data-results") + "?" + params.toString();
    if (pending) pending.abort();
    pending = new AbortController();
    showState("loading", message("loading"));
    return window.fetch(url, { credentials: "same-origin", signal: pending.signal, headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected && response.url.indexOf("/login") !== -1) { window.location.reload(); return; }
        var type = response.headers.get("content-type") || "";
        return response.text().then(function (body) {
          if (type.indexOf("text/html") === -1 || (!response.ok && response.status !== 400)) throw new Error(message("failed"));
          target.innerHTML = body;  // our own server-rendered fragment (escaped by Jinja)
          window.history.replaceState(null, "", address);
          keepSwitches(params);
          adopt();
          showState(response.ok ? "ready" : "error", response.ok ? "" : message("failed"));
        });
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        showState("error", error.message === message("failed") ? error.message : message("network"));
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = event.submitter;
    if (button && button.name === "preset") form.setAttribute("data-preset", button.value);
    if (button && button.name === "custom") form.setAttribute("data-preset", "");
    load(button && button.name === "refresh" ? { refresh: "true" } : {});
  });
  // a date typed or picked is a custom range (no preset)
  ["start", "end"].forEach(function (name) {
    form.elements[name].addEventListener("change", function () { form.setAttribute("data-preset", ""); });
  });

  adopt();
  window.costtracker = Object.assign(window.costtracker || {}, { loadResults: load });
})();

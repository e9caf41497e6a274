// The explorer's dependent choices: a provider's workspaces (shown only for providers that have
// them), then the projects of the chosen workspace, fetched from the API; then the results.
(function () {
  "use strict";
  var form = document.getElementById("controls");
  if (!form) return;
  var provider = document.getElementById("provider");
  var workspace = document.getElementById("workspace");
  var project = document.getElementById("project");
  var workspaceField = document.getElementById("workspace-field");

  function text(name) { return form.getAttribute("data-msg-" + name) || ""; }

  function getJson(url) {
    return window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error((body.error && body.error.message) || text("failed"));
          return body;
        });
      });
  }

  // Replace a select's options (names are set as text: provider-controlled names never become markup).
  function fill(select, first, items, label) {
    select.replaceChildren();
    select.appendChild(new Option(first, ""));
    items.forEach(function (item) { select.appendChild(new Option(label(item), item.id)); });
    select.value = "";
  }

  function chosenOption() { return provider.options[provider.selectedIndex]; }

  function loadProjects() {
    var params = new URLSearchParams({ provider: provider.value });
    if (!workspaceField.hidden && workspace.value) params.set("workspace", workspace.value);
    return getJson("/api/projects?" + params.toString()).then(function (projects) {
      fill(project, text("all-projects"), projects, function (p) {
        return p.name + (p.status === "archived" ? " (" + text("archived") + ")" : "");
      });
    });
  }

  function failed(error) {
    var results = document.getElementById("results");
    var box = document.createElement("div");
    box.className = "card problem";
    box.setAttribute("role", "alert");
    box.textContent = error.message;
    results.replaceChildren(box);
  }

  function results() { return window.costtracker.loadResults(); }

  provider.addEventListener("change", function () {
    var option = chosenOption();
    var hasWorkspaces = option.getAttribute("data-has-workspaces") === "true";
    var collected = option.getAttribute("data-collected") === "true";
    workspaceField.hidden = !hasWorkspaces;
    fill(workspace, text("all-workspaces"), [], String);
    fill(project, text("all-projects"), [], String);
    if (!collected) { results(); return; }
    var steps = hasWorkspaces
      ? getJson("/api/workspaces?provider=" + encodeURIComponent(provider.value)).then(function (found) {
          fill(workspace, text("all-workspaces"), found, function (w) { return w.name; });
        })
      : Promise.resolve();
    steps.then(loadProjects).then(results).catch(failed);
  });

  workspace.addEventListener("change", function () {
    loadProjects().then(results).catch(failed);
  });

  project.addEventListener("change", function () { results(); });
})();

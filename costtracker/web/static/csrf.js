// costtracker: send the session's CSRF token with every script request that changes state.
// Loaded as a file because the Content-Security-Policy forbids inline scripts and handlers.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : null;
  var safe = { GET: true, HEAD: true, OPTIONS: true };

  // costtracker.fetch(url, options): window.fetch plus the X-CSRF-Token header on writes.
  function csrfFetch(url, options) {
    var opts = Object.assign({ credentials: "same-origin" }, options || {});
    var method = (opts.method || "GET").toUpperCase();
    if (token && !safe[method]) {
      var headers = new Headers(opts.headers || {});
      headers.set("X-CSRF-Token", token);
      opts.headers = headers;
    }
    return window.fetch(url, opts);
  }

  // <form data-confirm="Really?">: ask before submitting (no inline onsubmit under the CSP).
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  window.costtracker = Object.assign(window.costtracker || {}, { csrfToken: token, fetch: csrfFetch });
})();

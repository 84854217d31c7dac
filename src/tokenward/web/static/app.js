// tokenward dashboard: live refresh of the open page when the inventory changes. No framework, no CDN.
(function () {
  "use strict";
  var body = document.body;
  var since = body.getAttribute("data-stamp");
  var every = parseInt(body.getAttribute("data-poll") || "1000", 10);
  if (!since) { return; } // the login and error pages do not poll

  function busy() {
    // Never swap the page under someone typing into a form.
    var el = document.activeElement;
    return el && el.form && el.form.id !== "filters" && el.value !== el.defaultValue;
  }

  function refresh() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main");
        var current = document.getElementById("main");
        if (fresh && current) {
          current.replaceWith(document.adoptNode(fresh));
          body.setAttribute("data-updated", String(Date.now()));
        }
      });
  }

  function poll() {
    fetch("/api/changes?since=" + encodeURIComponent(since), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (j && j.changed && !busy()) {
          since = j.stamp;
          return refresh();
        }
        return null;
      })
      .catch(function () { /* the server restarts or the network blips: try again next time */ })
      .then(function () { window.setTimeout(poll, every); });
  }

  window.setTimeout(poll, every);
})();

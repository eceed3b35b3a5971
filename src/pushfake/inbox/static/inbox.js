// The inbox page's script: live updates over server-sent events, filters without reloading,
// opening a notification, reset. Plain JavaScript, no build step; the page works without it.
(function () {
  "use strict";
  var body = document.body;
  var base = body.dataset.base;
  var api = body.dataset.api;
  var form = document.getElementById("filters");

  function formQuery() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      var text = String(value).trim();
      if (text) params.set(name, text);
    });
    return params.toString();
  }

  // --- swapping a section for a fresh copy from the server -----------------------------------
  function focusKey(section) {
    var active = document.activeElement;
    if (!active || !section.contains(active)) return null;
    if (active.dataset && active.dataset.delivery) return ["data-delivery", active.dataset.delivery];
    if (active.dataset && active.dataset.device) return ["data-device", active.dataset.device];
    return null;
  }

  function swap(id, url) {
    return fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        var type = response.headers.get("content-type") || "";
        if (type.indexOf("text/html") !== 0) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var old = document.getElementById(id);
        var template = document.createElement("template");
        template.innerHTML = html.trim();
        var fresh = template.content.firstElementChild;
        if (!old || !fresh) return;
        var key = focusKey(old);
        old.replaceWith(fresh);
        if (key) {
          var again = fresh.querySelector("[" + key[0] + '="' + CSS.escape(key[1]) + '"]');
          if (again) again.focus();
        }
        if (id === "state") showClock(fresh.dataset.clock);
      });
  }

  function showClock(iso) {
    var clock = document.getElementById("clock");
    if (clock && iso) {
      clock.textContent = iso;
      clock.setAttribute("datetime", iso);
    }
  }

  // One refresh of a kind at a time; a change meanwhile asks for one more after it.
  function refresher(run) {
    var timer = null, running = false, again = false;
    function go() {
      timer = null;
      if (running) { again = true; return; }
      running = true;
      run().catch(function () {}).then(function () {
        running = false;
        if (again) { again = false; schedule(); }
      });
    }
    function schedule() { if (timer === null) timer = setTimeout(go, 100); }
    return schedule;
  }

  var refreshDevices = refresher(function () {
    return swap("devices", base + "/devices" + location.search);
  });
  var refreshRequests = refresher(function () {
    return Promise.all([swap("requests", base + "/requests"), swap("state", base + "/state")]);
  });
  function refreshAll() { refreshDevices(); refreshRequests(); }

  // --- filters ---------------------------------------------------------------------------------
  function applyFilters(event) {
    if (event) event.preventDefault();
    var query = formQuery();
    history.replaceState(null, "", base + (query ? "?" + query : ""));
    refreshDevices();
  }
  form.addEventListener("submit", applyFilters);
  form.addEventListener("change", function (event) {
    if (event.target.tagName === "SELECT") applyFilters();
  });
  var typing = null;
  form.addEventListener("input", function (event) {
    if (event.target.tagName !== "INPUT") return;
    clearTimeout(typing);
    typing = setTimeout(applyFilters, 300);
  });

  // --- opening a notification ------------------------------------------------------------------
  function open(item) {
    if (item.dataset.state !== "delivered" || item.dataset.opened === "true") return;
    fetch(api + "/deliveries/" + encodeURIComponent(item.dataset.delivery) + "/engage", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ kind: "open" })
    }).then(function (response) {
      if (!response.ok) return;
      item.dataset.opened = "true";
      if (!item.querySelector(".opened")) {
        var mark = document.createElement("span");
        mark.className = "opened";
        mark.textContent = "opened";
        var meta = item.querySelector(".meta");
        (meta || item).append(" ", mark);
      }
    });
  }
  document.addEventListener("click", function (event) {
    var item = event.target.closest("li.notification[role=button]");
    if (item) open(item);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" && event.key !== " ") return;
    var item = event.target.closest && event.target.closest("li.notification[role=button]");
    if (item && item === event.target) {
      event.preventDefault();
      open(item);
    }
  });

  // --- reset -----------------------------------------------------------------------------------
  document.getElementById("reset").addEventListener("click", function () {
    if (!confirm("Reset the fake? Every delivery, request and rule made since start-up is dropped.")) return;
    fetch(api + "/reset", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" }, body: "{}"
    }).then(refreshAll);
  });

  // --- live updates ----------------------------------------------------------------------------
  var note = document.getElementById("live-note");
  function live(on) {
    body.dataset.live = on ? "on" : "off";
    if (note) note.textContent = on ? "live" : "live updates off";
  }
  if (window.EventSource) {
    var source = new EventSource(base + "/events");
    source.addEventListener("ready", function () {
      live(true);
      refreshAll(); // what changed between rendering (or a lost connection) and now
    });
    source.addEventListener("deliveries", refreshDevices);
    source.addEventListener("requests", refreshRequests);
    source.addEventListener("error", function () { live(false); });
    window.addEventListener("pagehide", function () { source.close(); });
  }
})();

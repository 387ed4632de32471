// The job page's progress block (#job-live): pushed by the server over a websocket (summaries/consumers.py);
// when the socket cannot connect or ends before the job does (no shared channel layer, a proxy that blocks
// websockets), the block is fetched once more with htmx and then polls itself every 2 s until the job ends.
(function () {
  "use strict";
  var region = document.getElementById("job-live");
  if (!region) return;

  function finished() {
    return region.querySelector("[data-finished]") !== null;
  }

  function stopWith(message) {
    var note = document.createElement("p");
    note.className = "errors";
    note.setAttribute("role", "alert");
    note.textContent = message + " ";
    var again = document.createElement("a");
    again.href = window.location.pathname;
    again.textContent = "Reload the page";
    note.appendChild(again);
    region.replaceChildren(note);
  }

  // A polled answer that is not the block (an error page, the login page after a redirect) stops the polling
  // instead of being swapped in, or of being asked for again every 2 s.
  region.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var answered = new URL(xhr.responseURL || region.dataset.pollUrl, window.location.href).pathname;
    if (xhr.status >= 400 || answered !== region.dataset.pollUrl) {
      event.detail.shouldSwap = false;
      stopWith(xhr.status === 403 ? "You may no longer manage this server." : "This page stopped updating.");
    }
  });

  var wsPath = region.dataset.wsUrl;
  if (!wsPath) return; // finished, or live progress is off: the block polls (or not) by itself

  var polling = false;
  function poll() {
    if (polling || finished()) return;
    polling = true;
    window.htmx.ajax("GET", region.dataset.pollUrl, { target: region, swap: "innerHTML" });
  }

  var socket;
  try {
    socket = new WebSocket((window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + wsPath);
  } catch (error) {
    poll();
    return;
  }
  // A proxy may hold the upgrade without ever answering it.
  var giveUp = window.setTimeout(function () { socket.close(); poll(); }, 5000);
  socket.addEventListener("open", function () { window.clearTimeout(giveUp); });
  socket.addEventListener("message", function (event) { region.innerHTML = event.data; });
  socket.addEventListener("close", function () { window.clearTimeout(giveUp); poll(); });
})();

// ticketd console: the little the pages do with a script. Everything shown is readable without it.
"use strict";

// Live pages: an element with data-live-src follows the event stream at data-live-events and,
// when one of its events arrives, fetches its own fragment again and swaps it in.
const EVENT_TYPES = ["ticket.created", "ticket.updated", "ticket.status_changed", "ticket.commented",
  "ticket.commented_internal", "ticket.deleted", "ticket.attachment_added", "ticket.attachment_removed"];

function follow(live) {
  const source = new EventSource(live.dataset.liveEvents);
  let pending = null;
  const refresh = () => {
    if (pending) return;
    pending = setTimeout(async () => {
      pending = null;
      const answer = await fetch(live.dataset.liveSrc, { credentials: "same-origin" });
      if (answer.ok) {
        live.innerHTML = await answer.text();
        live.dataset.refreshed = String(Number(live.dataset.refreshed || 0) + 1);
      }
    }, 150);
  };
  for (const type of EVENT_TYPES) source.addEventListener(type, refresh);
}

// The import form sends the file as it is, with its media type and the page's CSRF token.
function upload(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = form.querySelector("input[type=file]").files[0];
    const state = form.querySelector("[role=status]");
    if (!file) return;
    const type = /\.(jsonl|ndjson)$/i.test(file.name) ? "application/x-ndjson" : "text/csv";
    state.textContent = "Uploading…";
    const answer = await fetch(form.dataset.upload, {
      method: "POST", body: file, credentials: "same-origin",
      headers: { "Content-Type": type, "X-CSRF-Token": form.querySelector("input[name=csrf]").value },
    });
    if (answer.status === 201) {
      window.location.assign(answer.headers.get("Location"));
    } else {
      const page = new DOMParser().parseFromString(await answer.text(), "text/html");
      const alert = page.querySelector("[role=alert]");
      state.textContent = "Refused: " + (alert ? alert.textContent : answer.status);
    }
  });
}

// A form with files shows its upload's progress: the same form is sent by XMLHttpRequest (whose
// upload reports progress), then the page it led to is opened. Without files (or without this
// script) the browser posts it as it is.
function withProgress(form) {
  form.addEventListener("submit", (event) => {
    const input = form.querySelector("input[type=file]");
    if (!input || input.files.length === 0) return;
    event.preventDefault();
    const bar = form.querySelector(".upload-progress");
    const state = form.querySelector("[role=status]");
    const button = form.querySelector("button[type=submit]");
    const settle = (message) => { state.textContent = message; bar.hidden = true; button.disabled = false; };
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", (progress) => {
      if (progress.lengthComputable) bar.value = Math.round((100 * progress.loaded) / progress.total);
    });
    request.addEventListener("load", () => {
      if (request.status < 400) {
        window.location.assign(request.responseURL);
        return;
      }
      const page = new DOMParser().parseFromString(request.responseText, "text/html");
      const alert = page.querySelector("[role=alert]");
      settle("Refused: " + (alert ? alert.textContent : request.status));
    });
    request.addEventListener("error", () => settle("The upload failed; try again."));
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    state.textContent = `Uploading ${input.files.length} file${input.files.length === 1 ? "" : "s"}…`;
    request.send(new FormData(form));
  });
}

// "/" jumps to the queue's search field, as in most issue trackers.
function shortcuts() {
  const search = document.querySelector("[data-shortcut='/']");
  if (!search) return;
  document.addEventListener("keydown", (event) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
    if (event.key === "/" && !typing) { event.preventDefault(); search.focus(); }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-live-src]").forEach(follow);
  document.querySelectorAll("form[data-upload]").forEach(upload);
  document.querySelectorAll("form[data-files]").forEach(withProgress);
  shortcuts();
});

// T-LoRA WebUI: live updates for server-rendered pages.
// A page marks a live region with data-live-url (where its fresh HTML comes from) and either data-job (follow one
// job from data-next-sequence) or data-all-jobs. Hub events only schedule a refresh: at most one fetch per 300 ms,
// so a fast job never floods the browser, and the server stays the one place that renders.
(() => {
  "use strict";
  const REFRESH_MS = 300;

  function liveRegion() { return document.querySelector("[data-live-url]"); }

  let timer = null, inFlight = false, again = false;
  function scheduleRefresh() {
    if (timer || inFlight) { again = true; return; }
    timer = setTimeout(refresh, REFRESH_MS);
  }
  async function refresh() {
    timer = null;
    const region = liveRegion();
    if (!region) return;
    inFlight = true; again = false;
    try {
      const response = await fetch(region.dataset.liveUrl, { headers: { "Accept": "text/html" } });
      if (response.ok) {
        const html = await response.text();
        const holder = document.createElement("div");
        holder.innerHTML = html;
        const fresh = holder.querySelector("[data-live-url]");
        if (fresh) region.replaceWith(fresh);
        setStatus(null);
      } else {
        setStatus(`Refreshing failed: HTTP ${response.status}`);
      }
    } catch (e) {
      setStatus(`Refreshing failed: ${e.message}`);
    } finally {
      inFlight = false;
      if (again) scheduleRefresh();
    }
  }

  function setStatus(message) {
    const el = document.getElementById("live-status");
    if (!el) return;
    el.textContent = message || "";
    el.hidden = !message;
  }

  async function follow() {
    const region = liveRegion();
    if (!region || typeof signalR === "undefined") return;
    const jobId = region.dataset.job;
    const all = region.dataset.allJobs !== undefined;
    if (!jobId && !all) return;
    if (jobId && region.dataset.finished === "true") return;
    let next = Number(region.dataset.nextSequence || "1");
    const connection = new signalR.HubConnectionBuilder().withUrl("/hubs/jobs").withAutomaticReconnect().build();
    // "event": one job's events {jobId, sequence, time, type, final, data}; "activity": every job's, without data.
    connection.on("event", e => {
      if (e.sequence >= next) next = e.sequence + 1;
      scheduleRefresh();
      if (e.final) connection.stop();
    });
    connection.on("activity", () => scheduleRefresh());
    const join = () => jobId ? connection.invoke("Join", jobId, next) : connection.invoke("JoinAll");
    connection.onreconnecting(() => setStatus("Connection to the gateway lost — reconnecting…"));
    connection.onreconnected(async () => { setStatus(null); await join(); scheduleRefresh(); });
    try {
      await connection.start();
      await join();
      // anything that happened between the page render and the join
      scheduleRefresh();
    } catch (e) {
      setStatus(`Live updates unavailable: ${e.message}`);
    }
  }

  // Click a thumbnail to see the full image (fetched from the gateway) in a dialog.
  document.addEventListener("click", e => {
    const thumb = e.target.closest("img.tl-thumb");
    if (!thumb) return;
    const dialog = document.getElementById("enlarge");
    dialog.querySelector("img").src = thumb.dataset.full;
    dialog.querySelector("img").alt = thumb.alt;
    dialog.querySelector(".tl-dialog-caption").textContent = thumb.alt;
    dialog.querySelector(".tl-download").href = thumb.dataset.full;
    dialog.showModal();
  });

  // The chosen concept image, previewed before it is sent.
  document.addEventListener("change", e => {
    if (e.target.id !== "image-input") return;
    const file = e.target.files && e.target.files[0];
    const preview = document.getElementById("image-preview");
    const kept = document.querySelector("input[name=imageData]");
    if (kept) kept.value = "";
    if (!file || !preview) return;
    if (!/^image\/(png|jpeg)$/.test(file.type)) { preview.hidden = true; return; }
    const reader = new FileReader();
    reader.onload = () => { preview.src = reader.result; preview.hidden = false; };
    reader.readAsDataURL(file);
  });

  // "From the paper" chips add a validation prompt.
  document.addEventListener("click", e => {
    const chip = e.target.closest("[data-add-prompt]");
    if (!chip) return;
    e.preventDefault();
    const area = document.querySelector("textarea[name=validationPrompts]");
    const lines = area.value.split("\n").map(l => l.trim()).filter(l => l);
    if (!lines.includes(chip.dataset.addPrompt)) lines.push(chip.dataset.addPrompt);
    area.value = lines.join("\n");
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", follow); else follow();
})();

// A background run's page (/manage/runs/{id}) follows the run without reloading: it asks the
// run's JSON every second, updates the row and byte counts in place, and when the run's
// status or phase changes swaps in the state as the server renders it (X-Fragment: run), so
// every word stays translated. Without this script the page has a Refresh link instead.
"use strict";

(function () {
  const POLL_MS = 1000;
  const MEGABYTE = 1048576;

  function start(root) {
    const format = new Intl.NumberFormat(document.documentElement.lang || undefined, {
      maximumFractionDigits: 1,
    });
    let status = root.dataset.runStatus;
    let phase = root.dataset.runPhase || "";
    let failures = 0;
    hideRefresh(root);

    async function swapState() {
      const response = await fetch(root.dataset.runPage, {
        headers: { "X-Fragment": "run" },
        credentials: "same-origin",
      });
      if (!response.ok) { throw new Error("run page answered " + response.status); }
      root.innerHTML = await response.text();
      hideRefresh(root);
    }

    function updateCounts(state) {
      const rows = root.querySelector("[data-run-rows]");
      if (rows && state.rows !== null) { rows.textContent = format.format(state.rows); }
      const bytes = root.querySelector("[data-run-bytes]");
      if (bytes && state.bytes !== null) { bytes.textContent = format.format(state.bytes / MEGABYTE); }
    }

    async function poll() {
      let state;
      try {
        const response = await fetch(root.dataset.runJson, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        if (!response.ok) { throw new Error("run JSON answered " + response.status); }
        state = await response.json();
        const newPhase = state.phase || "";
        if (state.status !== status || newPhase !== phase) {
          await swapState();
          status = state.status;
          phase = newPhase;
          root.dataset.runStatus = status;
          root.dataset.runPhase = phase;
        }
        updateCounts(state);
        failures = 0;
      } catch (error) {
        failures += 1;  // a dropped connection: keep asking, but show the Refresh link
        if (failures > 2) { showRefresh(root); }
      }
      if (!state || !state.finished) { window.setTimeout(poll, POLL_MS); }
    }

    window.setTimeout(poll, POLL_MS);
  }

  function hideRefresh(root) {
    root.querySelectorAll("[data-run-refresh]").forEach(function (link) { link.hidden = true; });
  }

  function showRefresh(root) {
    root.querySelectorAll("[data-run-refresh]").forEach(function (link) { link.hidden = false; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-run-json]");
    if (root && root.dataset.runStatus !== "succeeded" && root.dataset.runStatus !== "failed") {
      start(root);
    }
  });
})();

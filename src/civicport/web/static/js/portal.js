// civicport pages work without this script; it makes them quicker to use:
// - dataset views (table, chart, map, API) change in place: links and forms marked
//   data-fragment-* fetch just the views and swap them, and the address bar follows,
//   so a view can still be shared and the back button still works;
// - copy buttons; charts (Vega-Lite) and maps (Leaflet), whose libraries load only
//   when a chart or map is shown.
"use strict";

(function () {
  const loaded = {};

  function loadScript(src) {
    loaded[src] = loaded[src] || new Promise(function (resolve, reject) {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(script);
    });
    return loaded[src];
  }

  function loadStyle(href) {
    if (!document.querySelector('link[href="' + href + '"]')) {
      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = href;
      document.head.appendChild(link);
    }
  }

  // --- views swapped in place -------------------------------------------------------------
  function fragmentRoot() { return document.querySelector("[data-fragment-root]"); }

  async function showView(url, push) {
    const root = fragmentRoot();
    root.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(url, { headers: { "X-Fragment": "view" } });
      root.innerHTML = await response.text();
      if (push) { history.pushState({ view: true }, "", url); }
      enhance(root);
      const heading = root.querySelector("#panel-title");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
    } catch (error) {
      window.location.assign(url);  // fall back to a plain page load
    } finally {
      root.removeAttribute("aria-busy");
    }
  }

  function formUrl(form) {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (typeof value === "string" && value.trim() !== "") { params.append(name, value); }
    }
    const query = params.toString();
    return form.getAttribute("action") + (query ? "?" + query : "");
  }

  document.addEventListener("click", function (event) {
    const link = event.target.closest("a[data-fragment-link]");
    if (!link || !fragmentRoot() || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    event.preventDefault();
    showView(link.href, true);
  });

  document.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-fragment-form]");
    if (!form || !fragmentRoot()) { return; }
    event.preventDefault();
    showView(formUrl(form), true);
  });

  window.addEventListener("popstate", function () {
    if (fragmentRoot()) { showView(window.location.href, false); }
  });

  // --- copy buttons -------------------------------------------------------------------------
  document.addEventListener("click", async function (event) {
    const button = event.target.closest("button[data-copy]");
    if (!button) { return; }
    const source = document.getElementById(button.dataset.copy);
    try {
      await navigator.clipboard.writeText(source.textContent);
      button.dataset.label = button.dataset.label || button.textContent;
      button.textContent = "✓";
      setTimeout(function () { button.textContent = button.dataset.label; }, 1500);
    } catch (error) {
      window.getSelection().selectAllChildren(source);  // the reader can copy it by hand
    }
  });

  // --- charts -------------------------------------------------------------------------------
  async function drawChart(container) {
    const vendor = container.dataset.vendor.split("?")[0];
    const spec = JSON.parse(document.getElementById(container.dataset.chart).textContent);
    try {
      await loadScript(vendor + "vega/vega.min.js");
      await loadScript(vendor + "vega-lite/vega-lite.min.js");
      await loadScript(vendor + "vega-embed/vega-embed.min.js");
      // SVG: Vega labels it from the spec's description for screen readers. No actions menu:
      // the downloads and the table beside the chart already carry the numbers.
      await window.vegaEmbed(container, spec, { renderer: "svg", actions: false });
      container.dataset.drawn = "true";
      // The numbers' table stays one click away; without a chart it is what readers get.
      const numbers = container.closest(".panel").querySelector("details.chart-data");
      if (numbers) { numbers.open = false; }
    } catch (error) {
      container.textContent = error.message;
    }
  }

  // --- maps ---------------------------------------------------------------------------------
  function popupTable(properties) {
    const table = document.createElement("table");
    table.className = "map-popup";
    for (const [name, value] of Object.entries(properties)) {
      if (value === null || typeof value === "object") { continue; }
      const row = table.insertRow();
      const key = document.createElement("th");
      key.scope = "row";
      key.textContent = name;
      row.appendChild(key);
      row.insertCell().textContent = String(value);  // text, never HTML: rows are data
    }
    return table;
  }

  async function drawMap(container) {
    const vendor = container.dataset.vendor.split("?")[0];
    const message = document.createElement("p");
    message.className = "map-message";
    message.textContent = container.dataset.loading;
    container.before(message);
    try {
      loadStyle(vendor + "leaflet/leaflet.css");
      loadStyle(vendor + "leaflet.markercluster/MarkerCluster.css");
      loadStyle(vendor + "leaflet.markercluster/MarkerCluster.Default.css");
      await loadScript(vendor + "leaflet/leaflet.js");
      await loadScript(vendor + "leaflet.markercluster/leaflet.markercluster.js");
      const response = await fetch(container.dataset.geojsonUrl);
      if (!response.ok) { throw new Error(container.dataset.failed); }
      const data = await response.json();
      window.L.Icon.Default.imagePath = vendor + "leaflet/images/";
      const map = window.L.map(container, { maxZoom: 19 });
      if (container.dataset.tileUrl) {
        // Tiles that fail to load leave the background; the points are drawn all the same.
        window.L.tileLayer(container.dataset.tileUrl, {
          attribution: container.dataset.tileAttribution, maxZoom: 19,
        }).addTo(map);
        message.remove();
      } else {
        message.textContent = container.dataset.noTiles;
      }
      const clusters = window.L.markerClusterGroup({ chunkedLoading: true });
      const layer = window.L.geoJSON(data, {
        pointToLayer: function (feature, latlng) { return window.L.marker(latlng, { keyboard: true }); },
        onEachFeature: function (feature, marker) { marker.bindPopup(popupTable(feature.properties || {})); },
      });
      clusters.addLayer(layer);
      map.addLayer(clusters);
      const bounds = layer.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [20, 20] }); } else { map.setView([0, 0], 2); }
      container.dataset.drawn = String(layer.getLayers().length);
    } catch (error) {
      console.error(error);
      message.textContent = container.dataset.failed;
    }
  }

  function enhance(root) {
    root.querySelectorAll("[data-chart]").forEach(drawChart);
    root.querySelectorAll("[data-map]").forEach(drawMap);
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
})();

/// The dashboard's views: sign-in, overview, a sensor type's devices, one device, dead letters (alerts:
/// DashboardAlerts.swift).
enum DashboardViews {
    static let js = #"""
    "use strict";
    // Builds an element; text is always set as text, never parsed as HTML.
    function h(tag, attrs, ...children) {
      const e = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs || {})) {
        if (v === undefined || v === null || v === false) continue;
        if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v === true ? "" : v);
      }
      for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
      return e;
    }

    const Views = (() => {
      const show = (...nodes) => document.getElementById("view").replaceChildren(...nodes.flat().filter(n => n !== null));
      const enc = encodeURIComponent;
      const number = n => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));
      const value = v => (v === undefined || v === null ? "–" : String(Math.round(v * 1000) / 1000));
      const bytes = n => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);
      const ms = iso => Date.parse(iso.slice(0, 23) + "Z");
      const shortTime = iso => iso.slice(0, 19).replace("T", " ");
      // Units as people write them (the catalog keeps UCUM-style codes).
      const units = { Cel: "°C", "%RH": "%RH", hPa: "hPa", V: "V", A: "A", W: "W", kWh: "kWh", g: "g", lat: "°", lon: "°", m: "m" };
      const unit = u => units[u] ?? u;
      const head = f => `${f.name} (${unit(f.unit)})`;
      // "2 min ago", the exact time (UTC) on hover.
      function ago(iso) {
        const seconds = Math.round((Date.now() - ms(iso)) / 1000);
        const text = seconds < 0 ? "in the future" : seconds < 60 ? `${seconds} s ago` : seconds < 3600 ? `${Math.floor(seconds / 60)} min ago`
          : seconds < 86400 ? `${Math.floor(seconds / 3600)} h ago` : `${Math.floor(seconds / 86400)} d ago`;
        return h("time", { datetime: iso, title: `${shortTime(iso)} UTC` }, text);
      }
      const stateBadge = (state, since) => h("span", { class: `badge state ${state}`, "data-state": state, title: since ? `since ${shortTime(since)} UTC` : null }, state);
      const table = (id, heads, rows) => h("div", { class: "card" }, h("table", { id },
        h("thead", {}, h("tr", {}, heads.map(([text, cls]) => h("th", { class: cls }, text)))), h("tbody", {}, rows)));
      function every(period, body) {
        const timer = setInterval(() => body().catch(() => {}), period);
        App.onLeave(() => clearInterval(timer));
      }

      function signin(message) {
        document.getElementById("nav").hidden = true;
        document.getElementById("sign-out").hidden = true;
        const input = h("input", { type: "password", id: "token", autocomplete: "off", placeholder: "API token", "aria-label": "API token" });
        show(h("form", { class: "card signin", id: "signin", onsubmit: e => { e.preventDefault(); App.signIn(input.value.trim()); } },
          h("h1", {}, "Sign in"),
          h("p", { class: "muted" }, "Paste one of the query service's API tokens (TELEMETRY_API_TOKENS; scripts/run-local.sh keeps one in .local/api-token). It is kept in this browser tab only."),
          input,
          message ? h("p", { class: "error", id: "signin-error", role: "alert" }, message) : null,
          h("button", { class: "primary", type: "submit", id: "signin-submit" }, "Sign in")));
        input.focus();
      }

      function problem(message) {
        show(h("h1", {}, "Something went wrong"), h("p", { class: "error", id: "problem" }, message), h("p", {}, h("a", { href: "#/" }, "Back to the overview")));
      }

      async function overview() {
        // Open alerts first (alerts.js), above the counts.
        const [data, alerts] = await Promise.all([App.api("/v1/overview"), Alerts.section()]);
        const sensors = data.sensors.map(s => h("tr", { "data-sensor": s.sensor },
          h("td", {}, h("a", { href: `#/sensor/${enc(s.sensor)}` }, s.sensor)),
          h("td", { class: "num devices" }, number(s.devices)),
          ["online", "silent", "offline"].map(state => h("td", { class: `num hide-narrow by-state ${state}` },
            h("a", { href: `#/sensor/${enc(s.sensor)}?state=${state}` }, number((s.devices_by_state || {})[state])))),
          h("td", { class: "num hour" }, number(s.readings_last_hour)),
          h("td", { class: "num minute" }, number(s.readings_last_minute)),
          h("td", { class: "num rejected" }, h("a", { href: `#/rejected?sensor=${enc(s.sensor)}` }, number(s.rejected_last_hour)))));
        const services = data.services.map(s => h("tr", { "data-service": s.service },
          h("td", {}, s.service), h("td", {}, s.stalled
            ? h("span", { class: "badge down stalled", title: s.stalled }, "stalled")
            : h("span", { class: `badge ${s.up ? "up" : "down"}` }, s.up ? "up" : "down")),
          h("td", { class: "num" }, value(s.committed_readings_per_second)), h("td", { class: "num hide-narrow" }, value(s.received_per_second)),
          h("td", { class: "num" }, number(s.queue_depth)), h("td", { class: "num" }, bytes(s.journal_bytes)),
          h("td", { class: "hide-narrow muted" }, `${s.host} pid ${s.pid}`), h("td", { class: "hide-narrow muted" }, shortTime(s.updated_at))));
        show(h("h1", {}, "Overview"), alerts,
          h("p", { id: "device-states" }, "Devices: ", ["online", "silent", "offline"].map(state =>
            h("span", { class: "state-count" }, stateBadge(state), " ", number((data.devices_by_state || {})[state]), " "))),
          table("sensors", [["Sensor type"], ["Devices", "num"], ["online", "num hide-narrow"], ["silent", "num hide-narrow"], ["offline", "num hide-narrow"], ["Readings, last hour", "num"], ["last minute", "num"], ["Dead letters, last hour", "num"]], sensors),
          h("p", { class: "muted" }, `Dead letters of no sensor type in the last hour: ${number(data.unrouted_rejected_last_hour)}. Live streams open: ${number(data.streams)}. As of ${shortTime(data.time)} UTC.`),
          h("h2", {}, "Ingest services"),
          services.length ? table("services", [["Service"], ["State"], ["Readings/s", "num"], ["Messages/s", "num hide-narrow"], ["Queue", "num"], ["Journal", "num"], ["Where", "hide-narrow"], ["Reported", "hide-narrow"]], services)
            : h("p", { class: "muted", id: "no-services" }, "No ingest service has reported yet."));
        if (!App.overviewTimer) { App.overviewTimer = true; every(5000, async () => { await overview(); }); App.onLeave(() => { App.overviewTimer = false; }); }
      }

      async function sensor(name, params) {
        const type = (await App.catalog()).find(s => s.name === name);
        if (!type) throw new Error(`There is no sensor type ${name}.`);
        const prefix = params.get("prefix") || "", cursor = params.get("cursor");
        const state = ["online", "silent", "offline"].includes(params.get("state")) ? params.get("state") : "";
        const query = new URLSearchParams({ limit: "20" });
        if (prefix) query.set("prefix", prefix);
        if (state) query.set("state", state);
        if (cursor) query.set("cursor", cursor);
        const page = await App.api(`/v1/sensors/${enc(name)}/devices?${query}`);
        const latest = await Promise.all(page.devices.map(d =>
          App.api(`/v1/sensors/${enc(name)}/devices/${enc(d.device)}/latest`).then(r => r.reading, () => null)));
        const search = h("input", { type: "search", id: "device-search", value: prefix, placeholder: "device id starts with…", "aria-label": "Search devices" });
        const stateSelect = h("select", { id: "device-state", "aria-label": "State" }, h("option", { value: "" }, "every state"),
          ["online", "silent", "offline"].map(s => h("option", { value: s, selected: s === state }, s)));
        const filters = () => `prefix=${enc(search.value.trim())}&state=${stateSelect.value}`;
        const rows = page.devices.map((d, i) => h("tr", { "data-device": d.device },
          h("td", {}, h("a", { href: `#/device/${enc(name)}/${enc(d.device)}` }, d.device)),
          h("td", {}, stateBadge(d.state, d.state_since)),
          h("td", { class: "muted last-seen" }, ago(d.last_heard)),
          type.fields.map(f => h("td", { class: "num" }, value(latest[i] ? latest[i][f.name] : null)))));
        const pager = h("div", { class: "pager" },
          cursor ? h("a", { href: `#/sensor/${enc(name)}?prefix=${enc(prefix)}&state=${state}` }, "First page") : null,
          page.next ? h("a", { id: "next-page", href: `#/sensor/${enc(name)}?prefix=${enc(prefix)}&state=${state}&cursor=${enc(page.next)}` }, "Next page") : null);
        // A sensor type with a latitude and a longitude: its devices' latest positions on a map.
        const lat = type.fields.find(f => f.unit === "lat"), lon = type.fields.find(f => f.unit === "lon");
        let mapCard = null;
        if (lat && lon) {
          const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
          svg.setAttribute("class", "chart map");
          svg.id = "map";
          Chart.map(svg, page.devices.map((d, i) => latest[i] && latest[i][lat.name] != null && latest[i][lon.name] != null
            ? { lat: latest[i][lat.name], lon: latest[i][lon.name], label: d.device } : null).filter(p => p), false);
          mapCard = h("div", { class: "card" }, h("h2", {}, "Latest positions (this page's devices)"), svg);
        }
        show(h("h1", {}, `${name}: devices`),
          h("form", { class: "inline", onsubmit: e => { e.preventDefault(); location.hash = `#/sensor/${enc(name)}?${filters()}`; } },
            search, stateSelect, h("button", { type: "submit" }, "Search")),
          mapCard,
          rows.length ? table("devices", [["Device"], ["State"], ["Last heard"], ...type.fields.map(f => [head(f), "num"])], rows)
            : h("p", { class: "muted" }, "No device matches."),
          pager);
      }

      // Range → [span, bucket, bucket in ms]: a few hundred points each.
      const ranges = { "1h": [3600e3, "10s", 10e3], "24h": [86400e3, "5m", 300e3], "7d": [7 * 86400e3, "30m", 1800e3], "30d": [30 * 86400e3, "2h", 7200e3] };
      // A custom range's bucket: the smallest that keeps it under about 400 points.
      const buckets = [["1s", 1e3], ["10s", 10e3], ["30s", 30e3], ["1m", 60e3], ["5m", 300e3], ["15m", 900e3], ["30m", 1800e3], ["1h", 3600e3], ["2h", 7200e3], ["6h", 21600e3], ["1d", 86400e3], ["7d", 604800e3]];
      const bucketFor = span => buckets.find(([, ms]) => span / ms <= 400) || buckets[buckets.length - 1];
      // datetime-local text (read as UTC) ↔ ms.
      const localText = ms => new Date(ms).toISOString().slice(0, 16);
      const fromLocal = text => Date.parse(text + ":00Z");

      async function device(sensorName, deviceName, params) {
        const type = (await App.catalog()).find(s => s.name === sensorName);
        if (!type) throw new Error(`There is no sensor type ${sensorName}.`);
        const customFrom = Number(params.get("from")), customTo = Number(params.get("to"));
        const custom = customFrom > 0 && customTo > customFrom;
        const range = custom ? "custom" : ranges[params.get("range")] ? params.get("range") : "1h";
        const to = custom ? customTo : Date.now(), from = custom ? customFrom : to - ranges[range][0];
        const [bucket, bucketMs] = custom ? bucketFor(to - from) : ranges[range].slice(1);
        const here = `#/device/${enc(sensorName)}/${enc(deviceName)}`;
        const zoom = (a, b) => { location.hash = `${here}?from=${a}&to=${b}`; };
        const base = `/v1/sensors/${enc(sensorName)}`, path = `${base}/devices/${enc(deviceName)}`;
        const [aggregates, raw, info] = await Promise.all([
          App.api(`${base}/aggregates?device=${enc(deviceName)}&bucket=${bucket}&fn=count,avg,min,max&from=${from}&to=${to}`),
          App.api(`${path}/readings?from=${Math.max(from, to - 3600e3)}&to=${to}&order=desc&limit=500`),
          App.api(path)]);
        const badge = h("span", { id: "device-state" }, stateBadge(info.state, info.state_since));
        const charts = type.fields.map(f => {
          const series = aggregates.series.find(s => s.field === f.name);
          const points = (series ? series.points : []).map(p => ({ start: ms(p.time), t: ms(p.time) + bucketMs / 2, count: p.count, avg: p.avg, min: p.min, max: p.max }));
          const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
          svg.setAttribute("class", "chart");
          Object.assign(svg.dataset, { field: f.name, bucket, from: String(from), to: String(to) });
          return { field: f, points, svg, to };
        });
        const redraw = c => Chart.draw(c.svg, c.points, from, c.to, { bucketMs, onZoom: zoom });
        charts.forEach(redraw);
        const rowOf = r => h("tr", { "data-time": r.time }, h("td", {}, shortTime(r.time)), h("td", { class: "num hide-narrow" }, r.seq ?? "–"),
          type.fields.map(f => h("td", { class: "num" }, value(r[f.name]))));
        // 50 rows at first, 50 more a click: a long table is paged, not a page thousands of pixels long.
        const body = h("tbody", {}, raw.readings.slice(0, 50).map(rowOf));
        let shownRows = Math.min(50, raw.readings.length);
        const more = h("button", { type: "button", id: "more-readings", hidden: raw.readings.length <= 50, onclick: () => {
          body.append(...raw.readings.slice(shownRows, shownRows + 50).map(rowOf));
          shownRows = Math.min(raw.readings.length, shownRows + 50);
          more.hidden = shownRows >= raw.readings.length;
        } }, "More readings");
        // A device with a latitude and a longitude: its track over the table's readings.
        const lat = type.fields.find(f => f.unit === "lat"), lon = type.fields.find(f => f.unit === "lon");
        let track = null;
        if (lat && lon) {
          const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
          svg.setAttribute("class", "chart map");
          svg.id = "track";
          Chart.map(svg, raw.readings.slice().reverse().filter(r => r[lat.name] != null && r[lon.name] != null)
            .map(r => ({ lat: r[lat.name], lon: r[lon.name], label: shortTime(r.time) })), true);
          track = h("div", { class: "card" }, h("h2", {}, "Track of the readings below"), svg);
        }
        const live = h("span", { id: "live", class: "live off", "data-state": "off" }, "○ connecting");
        show(h("h1", {}, `${sensorName} / ${deviceName} `, badge, " ", live),
          h("p", { class: "muted" }, "Last heard ", ago(info.last_heard), `; expected every ${info.expected_interval}.`),
          h("div", { class: "ranges" }, Object.keys(ranges).map(r =>
            h("button", { type: "button", "aria-pressed": String(r === range), "data-range": r, onclick: () => { location.hash = `${here}?range=${r}`; } }, r)),
            h("form", { class: "inline custom-range", onsubmit: e => {
                e.preventDefault();
                const a = fromLocal(e.target.elements.from.value), b = fromLocal(e.target.elements.to.value);
                if (a < b) zoom(a, b);
              } },
              h("input", { type: "datetime-local", name: "from", id: "range-from", value: localText(from), "aria-label": "From (UTC)" }),
              h("input", { type: "datetime-local", name: "to", id: "range-to", value: localText(to), "aria-label": "To (UTC)" }),
              h("button", { type: "submit", id: "range-apply" }, "Show"),
              h("button", { type: "button", id: "zoom-out", onclick: () => zoom(Math.round(from - (to - from) / 2), Math.round(Math.min(Date.now(), to + (to - from) / 2))) }, "Zoom out")),
            h("button", { type: "button", id: "csv-readings", class: "download", onclick: () => App.download(`${path}/readings?from=${from}&to=${to}&format=csv`, `${deviceName}-${range}.csv`).catch(e => alert(e.message)) }, "CSV: readings"),
            h("button", { type: "button", id: "csv-aggregates", class: "download", onclick: () => App.download(`${base}/aggregates?device=${enc(deviceName)}&bucket=${bucket}&fn=count,avg,min,max&from=${from}&to=${to}&format=csv`, `${deviceName}-${range}-${bucket}.csv`).catch(e => alert(e.message)) }, `CSV: ${bucket} aggregates`)),
          track,
          charts.map(c => h("div", { class: "card" }, h("h2", {}, `${head(c.field)}: average, min–max band, ${bucket} buckets`), c.svg)),
          h("p", { class: "muted" }, "Drag across a chart to zoom in; the value under the pointer shows at its top right."),
          h("h2", {}, custom ? "Readings of the range (its last hour), newest first" : "Readings of the last hour, newest first"),
          h("div", { class: "card" }, h("table", { id: "raw" },
            h("thead", {}, h("tr", {}, h("th", {}, "Time (UTC)"), h("th", { class: "num hide-narrow" }, "Seq"), type.fields.map(f => h("th", { class: "num" }, head(f))))),
            body), more));
        App.onLeave(App.stream(`${path}/stream`, (event, reading) => {
          if (event === "state") { badge.replaceChildren(stateBadge(reading.state, reading.since)); return; }
          if (event !== "reading") return;
          const at = ms(reading.time);
          body.prepend(rowOf(reading));
          for (const c of charts) {
            const v = reading[c.field.name];
            if (v === undefined || v === null || at < from || custom) continue;
            Chart.extend(c.points, at, v, bucketMs);
            c.to = Math.max(c.to, at + bucketMs);
            redraw(c);
          }
        }, on => {
          live.className = `live ${on ? "on" : "off"}`;
          live.dataset.state = on ? "on" : "off";
          live.textContent = on ? "● live" : "○ reconnecting";
        }));
      }

      const windows = { "10m": 600e3, "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3 };

      async function rejected(params) {
        const sensors = (await App.catalog()).map(s => s.name);
        const sensor = params.get("sensor") || "", reason = params.get("reason") || "";
        const window = windows[params.get("window")] ? params.get("window") : "1h";
        const from = Number(params.get("from")) || Date.now() - windows[window];
        const cursor = params.get("cursor");
        // Newest first: who opens this view is looking for what just went wrong.
        const query = new URLSearchParams({ limit: "100", from: String(from), order: "desc" });
        if (sensor) query.set("sensor", sensor);
        if (reason) query.set("reason", reason);
        if (cursor) query.set("cursor", cursor);
        const page = await App.api(`/v1/rejected?${query}`);
        const sensorSelect = h("select", { id: "filter-sensor", "aria-label": "Sensor type" }, h("option", { value: "" }, "every sensor type"),
          sensors.map(s => h("option", { value: s, selected: s === sensor }, s)));
        const reasonInput = h("input", { id: "filter-reason", value: reason, placeholder: "reason starts with… (e.g. truncated)", "aria-label": "Reason" });
        const windowSelect = h("select", { id: "filter-window", "aria-label": "Since" }, Object.keys(windows).map(w => h("option", { value: w, selected: w === window }, `last ${w}`)));
        const filters = () => `sensor=${enc(sensorSelect.value)}&reason=${enc(reasonInput.value.trim())}&window=${windowSelect.value}`;
        const hex = bytes => Array.from(bytes, (b, i) => b.toString(16).padStart(2, "0") + (i % 2 ? " " : "")).join("").trim();
        // The payload as text when it is UTF-8 without control characters (JSON pretty-printed), else hex.
        function payload(b64) {
          const raw = atob(b64), bytes = Uint8Array.from(raw, c => c.charCodeAt(0));
          let text = null;
          try { text = new TextDecoder("utf-8", { fatal: true }).decode(bytes); } catch (_) {}
          if (text === null || /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return h("td", { class: "hex", "data-kind": "hex" }, hex(bytes));
          try { const parsed = JSON.parse(text); if (typeof parsed === "object" && parsed !== null) text = JSON.stringify(parsed, null, 2); } catch (_) {}
          return h("td", { class: "text", "data-kind": "text" }, h("pre", {}, text));
        }
        // The device level of telemetry/<sensor>/<device>[/...]; other topics show theirs whole.
        const deviceOf = topic => { const levels = topic.split("/"); return levels[0] === "telemetry" && levels.length >= 3 ? levels[2] : "–"; };
        const rows = page.rejected.map(r => h("tr", { "data-id": String(r.id) },
          h("td", { class: "muted" }, shortTime(r.received_at)), h("td", {}, r.sensor ?? "–"), h("td", { class: "device" }, deviceOf(r.topic)), h("td", { class: "topic" }, r.topic),
          h("td", { class: "reason" }, r.reason), payload(r.payload)));
        show(h("h1", {}, "Dead letters"),
          h("form", { class: "inline", onsubmit: e => { e.preventDefault(); location.hash = `#/rejected?${filters()}`; } },
            sensorSelect, reasonInput, windowSelect, h("button", { type: "submit", id: "filter-apply" }, "Filter")),
          rows.length ? table("rejected", [["Received (UTC)"], ["Sensor"], ["Device"], ["Topic"], ["Reason"], ["Payload"]], rows)
            : h("p", { class: "muted", id: "no-rejected" }, "No dead letters match."),
          h("div", { class: "pager" }, page.next ? h("a", { id: "next-page", href: `#/rejected?${filters()}&from=${from}&cursor=${enc(page.next)}` }, "Next page (older)") : null));
      }

      // What other views (alerts.js) build with.
      const kit = { show, enc, value, unit, ms, ago, shortTime, stateBadge, table };
      return { signin, problem, overview, sensor, device, rejected, kit };
    })();
    """#
}

/// The dashboard's alerts (docs/alerts.md): the open and acknowledged episodes first on the overview, and
/// `#/alerts`, episodes filtered by state, sensor type and device, each not yet acknowledged with an
/// Acknowledge button (an admin token's call; a read token is told so and stays signed in).
enum DashboardAlerts {
    static let js = #"""
    "use strict";
    const Alerts = (() => {
      const { show, enc, value, unit, ago, shortTime, stateBadge, table } = Views.kit;
      const states = ["open", "acknowledged", "cleared"];
      const pageRows = 50;

      // "celsius 35.5 °C > 30 °C": the value that raised it against the rule's threshold, in the field's
      // unit as people write it; a silent rule's: since when nothing was heard.
      function measure(catalog, a) {
        if (a.condition === "silent") return ["no reading since ", ago(a.started_at)];
        const type = catalog.find(s => s.name === a.sensor), field = type && type.fields.find(f => f.name === a.field);
        const withUnit = v => field ? `${value(v)}\u00a0${unit(field.unit)}` : value(v);  // no break before the unit
        return `${a.field}: ${withUnit(a.value)} ${a.condition === "below" ? "<" : ">"} ${withUnit(a.threshold)}`;
      }
      const since = a => a.cleared_at || a.acknowledged_at || a.raised_at;

      // One episode's row; `action` (the alerts page) adds who acknowledged it, when it cleared, and the button.
      function row(catalog, a, action) {
        return h("tr", { "data-id": a.id, "data-state": a.state },
          h("td", { class: "state" }, stateBadge(a.state, since(a))),
          h("td", { class: "rule" }, a.rule.name),
          h("td", { class: "sensor hide-narrow" }, a.sensor),
          h("td", { class: "device" }, h("a", { href: `#/device/${enc(a.sensor)}/${enc(a.device)}` }, a.device)),
          h("td", { class: "measure" }, measure(catalog, a)),
          h("td", { class: "raised muted" }, ago(a.raised_at)),
          action ? [
            h("td", { class: "acknowledged hide-narrow muted" }, a.acknowledged_at ? [`${a.acknowledged_by} `, ago(a.acknowledged_at)] : "–"),
            h("td", { class: "cleared hide-narrow muted" }, a.cleared_at ? [ago(a.cleared_at), a.clear_reason ? ` (${a.clear_reason})` : ""] : "–"),
            h("td", { class: "action" }, a.state === "open" ? h("button", { type: "button", class: "acknowledge", onclick: e => action(a, e.target) }, "Acknowledge") : null),
          ] : null);
      }
      const heads = [["State"], ["Rule"], ["Sensor", "hide-narrow"], ["Device"], ["Value vs threshold"], ["Raised"]];

      // The overview's first section: what is open or acknowledged and not cleared, newest raised first.
      async function section() {
        const [catalog, data] = await Promise.all([App.catalog(), App.api("/v1/alerts?state=open,acknowledged&limit=21")]);
        const rows = data.alerts.slice(0, 20).map(a => row(catalog, a, null));
        return h("section", { id: "alerts-section" },
          h("h2", {}, "Open alerts"),
          rows.length ? table("open-alerts", heads, rows) : h("p", { class: "muted", id: "no-open-alerts" }, "No open alerts"),
          h("p", {}, h("a", { href: data.alerts.length > 20 ? "#/alerts?state=open" : "#/alerts", id: "alerts-link" },
            data.alerts.length > 20 ? "More open alerts on the alerts page" : "All alerts")));
      }

      // #/alerts?state=&sensor=&device=: up to 1,000 episodes (not cleared first), 50 rows at a time.
      async function page(params) {
        const catalog = await App.catalog();
        const state = [...states, "all"].includes(params.get("state")) ? params.get("state") : "all";
        const sensor = catalog.some(s => s.name === params.get("sensor")) ? params.get("sensor") : "";
        const device = (params.get("device") || "").trim();
        const query = new URLSearchParams({ state, limit: "1000" });
        if (sensor) query.set("sensor", sensor);
        if (device) query.set("device", device);
        let data, refused = null;
        // A device id the API refuses (400) is said next to the filters, not instead of them.
        try { data = await App.api(`/v1/alerts?${query}`); } catch (error) {
          if (error.status !== 400) throw error;
          data = { alerts: [] };
          refused = error.message;
        }
        const message = h("p", { id: "alerts-message", role: "status", hidden: !refused, class: refused ? "error" : null }, refused);
        const say = (text, bad) => { message.textContent = text; message.className = bad ? "error" : "notice"; message.hidden = false; };
        async function acknowledge(a, button) {
          button.disabled = true;
          try {
            const updated = await App.api(`/v1/alerts/${enc(a.id)}/acknowledge`, { method: "POST" });
            button.closest("tr").replaceWith(row(catalog, updated, acknowledge));
            say(`Acknowledged: ${a.rule.name} on ${a.device}.`, false);
          } catch (error) {
            button.disabled = false;
            if (error instanceof App.Unauthorized) App.signOut("Your token was refused.");
            // 403: this token may read, not change; it stays signed in.
            else if (error.status === 403) say("Acknowledging needs an admin token: sign out and sign in with one of TELEMETRY_ADMIN_TOKENS.", true);
            else say(`Could not acknowledge: ${error.message}`, true);
          }
        }
        const stateSelect = h("select", { id: "alert-state", "aria-label": "State" },
          [...states, "all"].map(s => h("option", { value: s, selected: s === state }, s === "all" ? "every state" : s)));
        const sensorSelect = h("select", { id: "alert-sensor", "aria-label": "Sensor type" }, h("option", { value: "" }, "every sensor type"),
          catalog.map(s => h("option", { value: s.name, selected: s.name === sensor }, s.name)));
        const deviceInput = h("input", { type: "search", id: "alert-device", value: device, placeholder: "device id", "aria-label": "Device" });
        const filters = () => `state=${stateSelect.value}&sensor=${enc(sensorSelect.value)}&device=${enc(deviceInput.value.trim())}`;
        const body = h("tbody", {}, data.alerts.slice(0, pageRows).map(a => row(catalog, a, acknowledge)));
        let shown = Math.min(pageRows, data.alerts.length);
        const more = h("button", { type: "button", id: "more-alerts", hidden: data.alerts.length <= pageRows, onclick: () => {
          body.append(...data.alerts.slice(shown, shown + pageRows).map(a => row(catalog, a, acknowledge)));
          shown = Math.min(data.alerts.length, shown + pageRows);
          more.hidden = shown >= data.alerts.length;
        } }, "More alerts");
        show(h("h1", {}, "Alerts"),
          h("form", { class: "inline", id: "alert-filters", onsubmit: e => { e.preventDefault(); location.hash = `#/alerts?${filters()}`; } },
            stateSelect, sensorSelect, deviceInput, h("button", { type: "submit", id: "alert-apply" }, "Filter")),
          message,
          data.alerts.length ? h("div", { class: "card" }, h("table", { id: "alerts" },
              h("thead", {}, h("tr", {}, [...heads, ["Acknowledged", "hide-narrow"], ["Cleared", "hide-narrow"], [""]].map(([text, cls]) => h("th", { class: cls }, text)))),
              body), more)
            : h("p", { class: "muted", id: "no-alerts" }, "No alerts match."),
          h("p", { class: "muted" }, data.alerts.length >= 1000 ? "The newest 1,000 shown (not cleared first): narrow the filters for older ones." : "Not cleared first, then newest raised first. Times are UTC on hover."));
      }

      return { section, page };
    })();
    """#

    static let css = #"""
    .badge.state.open { background: var(--bad); } .badge.state.acknowledged { background: #9a6700; } .badge.state.cleared { background: var(--muted); }
    #alerts td.action { text-align: right; } #alerts td.action button { padding: .15rem .5rem; }
    /* A rule's name and its value vs threshold wrap rather than push the table wider than its card. */
    #alerts td.rule, #alerts td.measure, #open-alerts td.rule, #open-alerts td.measure { white-space: normal; min-width: 7rem; }
    .notice { color: var(--ok); }
    #alerts-section h2 { margin-top: 0; }
    """#
}

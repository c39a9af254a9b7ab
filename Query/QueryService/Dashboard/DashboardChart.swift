/// The dashboard's chart: one field's aggregates as SVG, a min–max band under the average line, with
/// ticks, gridlines and dates, gaps drawn as gaps, the value under the pointer, and drag to zoom.
enum DashboardChart {
    static let js = #"""
    "use strict";
    // Draws aggregate points ({start, t: bucket middle in ms, avg, min, max}, oldest first) into an <svg>.
    const Chart = (() => {
      const NS = "http://www.w3.org/2000/svg";
      const W = 800, H = 240, L = 56, R = 12, T = 10, B = 40;

      function el(name, attrs, parent) {
        const e = document.createElementNS(NS, name);
        for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
        parent.appendChild(e);
        return e;
      }

      function label(v, step) {
        const digits = Math.max(0, Math.min(6, -Math.floor(Math.log10(step || 1))));
        return v.toFixed(digits);
      }

      // About `count` round steps (1, 2, 5 × 10^n) over [lo, hi].
      function niceStep(span, count) {
        const raw = span / count, power = Math.pow(10, Math.floor(Math.log10(raw)));
        return [1, 2, 5, 10].map(m => m * power).find(s => s >= raw);
      }

      // Time ticks: round steps in UTC, labelled with the time, and with the date where a day starts.
      const timeSteps = [60e3, 300e3, 600e3, 1800e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3, 2 * 86400e3, 7 * 86400e3];
      function timeTicks(from, to) {
        const step = timeSteps.find(s => (to - from) / s <= 8) || 7 * 86400e3;
        const ticks = [];
        for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
        return { ticks, step };
      }
      function timeLabel(ms, step) {
        const iso = new Date(ms).toISOString();
        return step >= 86400e3 ? iso.slice(5, 10) : iso.slice(11, 16);
      }

      // Consecutive points more than one and a half buckets apart belong to different runs: no line across a gap.
      function runs(points, bucketMs) {
        const out = [];
        for (const p of points) {
          const run = out[out.length - 1];
          if (run && p.t - run[run.length - 1].t <= bucketMs * 1.5) run.push(p); else out.push([p]);
        }
        return out;
      }

      function draw(svg, points, from, to, options = {}) {
        const bucketMs = options.bucketMs || (points.length > 1 ? points[1].t - points[0].t : to - from);
        svg.replaceChildren();
        svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
        svg.setAttribute("role", "img");
        svg.dataset.points = String(points.length);
        if (!points.length) {
          el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, svg).textContent = "no readings in this range";
          return;
        }
        let lo = Infinity, hi = -Infinity;
        for (const p of points) { lo = Math.min(lo, p.min); hi = Math.max(hi, p.max); }
        if (lo === hi) { lo -= 1; hi += 1; }
        const step = niceStep(hi - lo, 5);
        lo = Math.floor(lo / step) * step; hi = Math.ceil(hi / step) * step;
        const xs = t => L + (t - from) / (to - from) * (W - L - R);
        const x = t => xs(t).toFixed(1);
        const y = v => (T + (hi - v) / (hi - lo) * (H - T - B)).toFixed(1);
        for (let v = lo; v <= hi + step / 2; v += step) {
          el("line", { class: "grid", x1: L, y1: y(v), x2: W - R, y2: y(v) }, svg);
          el("text", { class: "tick", x: L - 6, y: Number(y(v)) + 4, "text-anchor": "end" }, svg).textContent = label(v, step);
        }
        const time = timeTicks(from, to);
        let lastDay = null;
        for (const t of time.ticks) {
          el("line", { class: "grid", x1: x(t), y1: T, x2: x(t), y2: H - B }, svg);
          el("text", { class: "tick", x: x(t), y: H - B + 14, "text-anchor": "middle" }, svg).textContent = timeLabel(t, time.step);
          const day = new Date(t).toISOString().slice(0, 10);
          if (time.step < 86400e3 && day !== lastDay) el("text", { class: "tick date", x: x(t), y: H - B + 28, "text-anchor": "middle" }, svg).textContent = day;
          lastDay = day;
        }
        el("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }, svg);
        el("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }, svg);
        for (const run of runs(points, bucketMs)) {
          if (run.length === 1) {
            el("line", { class: "band-bar", x1: x(run[0].t), y1: y(run[0].max), x2: x(run[0].t), y2: y(run[0].min) }, svg);
            el("circle", { class: "avg point", cx: x(run[0].t), cy: y(run[0].avg), r: 2.5 }, svg);
            continue;
          }
          const upper = run.map(p => `${x(p.t)},${y(p.max)}`);
          const lower = run.slice().reverse().map(p => `${x(p.t)},${y(p.min)}`);
          el("polygon", { class: "band", points: upper.concat(lower).join(" ") }, svg);
          el("polyline", { class: "avg", points: run.map(p => `${x(p.t)},${y(p.avg)}`).join(" ") }, svg);
        }
        // The value under the pointer, and drag to zoom (options.onZoom(from, to)).
        const cursor = el("line", { class: "cursor", x1: 0, y1: T, x2: 0, y2: H - B, visibility: "hidden" }, svg);
        const tip = el("text", { class: "tip", x: W - R, y: T + 12, "text-anchor": "end" }, svg);
        const selection = el("rect", { class: "selection", x: 0, y: T, width: 0, height: H - T - B, visibility: "hidden" }, svg);
        const overlay = el("rect", { class: "overlay", x: L, y: T, width: W - L - R, height: H - T - B }, svg);
        const at = event => {
          const box = svg.getBoundingClientRect();
          return from + ((event.clientX - box.left) / box.width * W - L) / (W - L - R) * (to - from);
        };
        let dragFrom = null;
        overlay.addEventListener("mousemove", event => {
          const t = at(event);
          let near = points[0];
          for (const p of points) if (Math.abs(p.t - t) < Math.abs(near.t - t)) near = p;
          cursor.setAttribute("x1", x(near.t)); cursor.setAttribute("x2", x(near.t)); cursor.setAttribute("visibility", "visible");
          tip.textContent = `${new Date(near.start ?? near.t).toISOString().slice(0, 16).replace("T", " ")} UTC  avg ${label(near.avg, step / 100)}  min ${label(near.min, step / 100)}  max ${label(near.max, step / 100)}  (${near.count})`;
          svg.dataset.hover = String(near.t);
          if (dragFrom !== null) {
            const a = Math.min(xs(dragFrom), xs(t)), b = Math.max(xs(dragFrom), xs(t));
            selection.setAttribute("x", a.toFixed(1)); selection.setAttribute("width", (b - a).toFixed(1)); selection.setAttribute("visibility", "visible");
          }
        });
        overlay.addEventListener("mouseleave", () => { cursor.setAttribute("visibility", "hidden"); tip.textContent = ""; dragFrom = null; selection.setAttribute("visibility", "hidden"); });
        overlay.addEventListener("mousedown", event => { dragFrom = at(event); event.preventDefault(); });
        overlay.addEventListener("mouseup", event => {
          if (dragFrom === null) return;
          const a = Math.min(dragFrom, at(event)), b = Math.max(dragFrom, at(event));
          dragFrom = null;
          selection.setAttribute("visibility", "hidden");
          if (options.onZoom && (b - a) / (to - from) > 0.01) options.onZoom(Math.round(a), Math.round(b));
        });
      }

      // Folds one live value into the series: its bucket's point, or a new point after the last.
      function extend(points, ms, value, bucketMs) {
        const start = Math.floor(ms / bucketMs) * bucketMs;
        const last = points[points.length - 1];
        if (last && last.start === start) {
          last.avg = (last.avg * last.count + value) / (last.count + 1);
          last.count += 1;
          last.min = Math.min(last.min, value);
          last.max = Math.max(last.max, value);
        } else if (!last || start > last.start) {
          points.push({ start, t: start + bucketMs / 2, count: 1, avg: value, min: value, max: value });
        }
      }

      // Positions ({lat, lon, label}) on a plain equirectangular projection fitted to them (no map tiles:
      // it works offline), with a graticule; `track` joins them in order (a device's path).
      function map(svg, positions, track) {
        svg.replaceChildren();
        const MW = 800, MH = 360, pad = 24;
        svg.setAttribute("viewBox", `0 0 ${MW} ${MH}`);
        svg.setAttribute("role", "img");
        svg.dataset.points = String(positions.length);
        if (!positions.length) { el("text", { x: MW / 2, y: MH / 2, "text-anchor": "middle" }, svg).textContent = "no positions"; return; }
        let south = Infinity, north = -Infinity, west = Infinity, east = -Infinity;
        for (const p of positions) { south = Math.min(south, p.lat); north = Math.max(north, p.lat); west = Math.min(west, p.lon); east = Math.max(east, p.lon); }
        // At least 0.01° across, and the same scale both ways (longitudes shrink by cos(latitude)).
        const middle = (south + north) / 2, shrink = Math.max(0.1, Math.cos(middle * Math.PI / 180));
        let spanLon = Math.max(east - west, 0.01), spanLat = Math.max(north - south, 0.01);
        const scale = Math.min((MW - 2 * pad) / (spanLon * shrink), (MH - 2 * pad) / spanLat);
        const cx = (west + east) / 2, cy = middle;
        const x = lon => (MW / 2 + (lon - cx) * shrink * scale).toFixed(1);
        const y = lat => (MH / 2 - (lat - cy) * scale).toFixed(1);
        const step = niceStep(Math.max(spanLat, spanLon), 4);
        for (let lat = Math.floor((cy - MH / 2 / scale) / step) * step; lat <= cy + MH / 2 / scale; lat += step) {
          el("line", { class: "grid", x1: 0, y1: y(lat), x2: MW, y2: y(lat) }, svg);
          el("text", { class: "tick", x: 4, y: Number(y(lat)) - 3 }, svg).textContent = `${label(lat, step)}°`;
        }
        for (let lon = Math.floor((cx - MW / 2 / scale / shrink) / step) * step; lon <= cx + MW / 2 / scale / shrink; lon += step) {
          el("line", { class: "grid", x1: x(lon), y1: 0, x2: x(lon), y2: MH }, svg);
          el("text", { class: "tick", x: Number(x(lon)) + 3, y: MH - 4 }, svg).textContent = `${label(lon, step)}°`;
        }
        if (track && positions.length > 1) el("polyline", { class: "avg track", points: positions.map(p => `${x(p.lon)},${y(p.lat)}`).join(" ") }, svg);
        for (const p of positions) {
          const dot = el("circle", { class: "avg position", cx: x(p.lon), cy: y(p.lat), r: track ? 2 : 4 }, svg);
          el("title", {}, dot).textContent = `${p.label ?? ""} ${p.lat.toFixed(5)}, ${p.lon.toFixed(5)}`.trim();
        }
      }

      return { draw, extend, map };
    })();
    """#
}

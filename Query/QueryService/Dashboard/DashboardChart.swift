/// The dashboard's chart: one field's aggregates as SVG, a min–max band under the average line.
enum DashboardChart {
    static let js = #"""
    "use strict";
    // Draws aggregate points ({t: bucket middle in ms, avg, min, max}, oldest first) into an <svg>.
    const Chart = (() => {
      const NS = "http://www.w3.org/2000/svg";
      const W = 800, H = 220, L = 52, R = 10, T = 10, B = 24;

      function el(name, attrs, parent) {
        const e = document.createElementNS(NS, name);
        for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
        parent.appendChild(e);
        return e;
      }

      function label(v) {
        const a = Math.abs(v);
        return a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
      }

      function timeLabel(ms, span) {
        const iso = new Date(ms).toISOString();
        return span > 2 * 86400e3 ? iso.slice(5, 10) : iso.slice(11, 16);
      }

      function draw(svg, points, from, to) {
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
        const pad = (hi - lo) * 0.05;
        lo -= pad; hi += pad;
        const x = t => (L + (t - from) / (to - from) * (W - L - R)).toFixed(1);
        const y = v => (T + (hi - v) / (hi - lo) * (H - T - B)).toFixed(1);
        el("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }, svg);
        el("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }, svg);
        const upper = points.map(p => `${x(p.t)},${y(p.max)}`);
        const lower = points.slice().reverse().map(p => `${x(p.t)},${y(p.min)}`);
        el("polygon", { class: "band", points: upper.concat(lower).join(" ") }, svg);
        el("polyline", { class: "avg", points: points.map(p => `${x(p.t)},${y(p.avg)}`).join(" ") }, svg);
        if (points.length === 1) el("circle", { class: "avg", cx: x(points[0].t), cy: y(points[0].avg), r: 3 }, svg);
        el("text", { x: L - 4, y: T + 10, "text-anchor": "end" }, svg).textContent = label(hi);
        el("text", { x: L - 4, y: H - B, "text-anchor": "end" }, svg).textContent = label(lo);
        el("text", { x: L, y: H - 6 }, svg).textContent = timeLabel(from, to - from);
        el("text", { x: W - R, y: H - 6, "text-anchor": "end" }, svg).textContent = timeLabel(to, to - from);
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

      return { draw, extend };
    })();
    """#
}

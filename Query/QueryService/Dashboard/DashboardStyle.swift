/// The dashboard's page and style sheet.
enum DashboardStyle {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>telemetry</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="/ui/app.css">
    </head>
    <body>
    <header>
      <a class="brand" href="#/">telemetry</a>
      <nav id="nav" hidden><a href="#/">Overview</a><a href="#/alerts">Alerts</a><a href="#/rejected">Dead letters</a></nav>
      <button id="sign-out" type="button" hidden>Sign out</button>
    </header>
    <main id="view" aria-live="polite"></main>
    <script src="/ui/chart.js"></script>
    <script src="/ui/views.js"></script>
    <script src="/ui/alerts.js"></script>
    <script src="/ui/app.js"></script>
    </body>
    </html>
    """#

    static let css = #"""
    :root { --fg: #1b2430; --muted: #5f6b7a; --line: #d8dee6; --bg: #f6f8fa; --accent: #1f6feb; --band: rgba(31,111,235,.18);
            --ok: #1a7f37; --bad: #cf222e; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); }
    * { box-sizing: border-box; }
    [hidden] { display: none !important; }
    body { margin: 0; background: var(--bg); }
    header { display: flex; align-items: center; gap: 1rem; padding: .6rem 1rem; background: #fff; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
    header .brand { font-weight: 700; color: var(--fg); text-decoration: none; }
    header nav { display: flex; gap: .8rem; flex: 1; }
    header a { color: var(--accent); } header nav a { white-space: nowrap; }
    main { padding: 1rem; max-width: 1200px; margin: 0 auto; }
    h1 { font-size: 1.3rem; margin: .2rem 0 1rem; overflow-wrap: anywhere; }
    h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
    .card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8rem; margin-bottom: 1rem; overflow-x: auto; }
    table { border-collapse: collapse; width: 100%; font-size: .9rem; }
    th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
    td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
    td.hex { font-family: ui-monospace, monospace; white-space: normal; word-break: break-all; font-size: .8rem; }
    td.reason { white-space: normal; }
    .muted { color: var(--muted); }
    .badge { display: inline-block; padding: .05rem .45rem; border-radius: 1rem; font-size: .8rem; color: #fff; }
    .badge.up { background: var(--ok); } .badge.down { background: var(--bad); }
    .badge.state.online { background: var(--ok); } .badge.state.silent { background: #9a6700; } .badge.state.offline { background: var(--muted); }
    td.text pre { margin: 0; white-space: pre-wrap; word-break: break-all; font-size: .8rem; max-height: 12rem; overflow: auto; }
    .error { color: var(--bad); }
    form.inline { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; margin-bottom: .8rem; }
    input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
    button { cursor: pointer; } button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
    .pager { display: flex; gap: .5rem; margin-top: .6rem; }
    .ranges { display: flex; gap: .3rem; margin-bottom: .8rem; }
    .ranges button[aria-pressed="true"] { background: var(--accent); color: #fff; }
    .ranges { flex-wrap: wrap; } .ranges .download:first-of-type { margin-left: auto; }
    .signin { max-width: 26rem; margin: 3rem auto; }
    .signin input { width: 100%; margin: .5rem 0; }
    .live { font-size: .85rem; } .live.on { color: var(--ok); } .live.off { color: var(--muted); }
    svg.chart { width: 100%; height: auto; display: block; }
    svg.chart .band { fill: var(--band); stroke: none; }
    svg.chart .avg { fill: none; stroke: var(--accent); stroke-width: 1.5; }
    svg.chart .axis { stroke: var(--muted); }
    svg.chart .grid { stroke: var(--line); stroke-width: .5; }
    svg.chart .band-bar { stroke: var(--band); stroke-width: 4; }
    svg.chart circle.avg { fill: var(--accent); }
    svg.chart .cursor { stroke: var(--fg); stroke-dasharray: 3 3; }
    svg.chart .selection { fill: rgba(31,111,235,.12); }
    svg.chart .overlay { fill: transparent; cursor: crosshair; }
    svg.chart text.tip { fill: var(--fg); font-size: 12px; }
    .custom-range { margin: 0 0 0 .6rem; }
    svg.chart .track { stroke-width: 1; } svg.chart circle.position { fill: var(--accent); stroke: #fff; stroke-width: 1; }
    #more-readings { margin-top: .6rem; }
    svg.chart text { font-size: 11px; fill: var(--muted); }
    @media (max-width: 600px) {
      main { padding: .5rem; }
      header, header nav { gap: .6rem; }
      th, td { padding: .3rem; font-size: .8rem; }
      .hide-narrow { display: none; }
    }
    """#
}

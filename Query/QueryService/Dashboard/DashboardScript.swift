/// The dashboard's core: the token, API calls, the live stream and the hash router.
enum DashboardScript {
    static let js = #"""
    "use strict";
    const App = (() => {
      const tokenKey = "telemetry.token";
      let leaving = [];
      let catalogCache = null;

      class Unauthorized extends Error {}

      const token = () => sessionStorage.getItem(tokenKey);
      const authHeaders = () => ({ Authorization: "Bearer " + token() });

      // A GET, or with `send` ({method, body}) a request with a JSON body. An answer other than 2xx throws
      // an Error carrying its `status` and the API's `code` (a 403 is not a 401: the token stays).
      async function api(path, send) {
        const init = { headers: authHeaders() };
        if (send) {
          init.method = send.method;
          if (send.body !== undefined) { init.body = JSON.stringify(send.body); init.headers["Content-Type"] = "application/json"; }
        }
        const response = await fetch(path, init);
        if (response.status === 401) throw new Unauthorized("refused");
        const body = await response.json().catch(() => null);
        if (!response.ok) {
          throw Object.assign(new Error(body && body.error ? body.error.message : `HTTP ${response.status}`),
            { status: response.status, code: body && body.error ? body.error.code : null });
        }
        return body;
      }

      // A CSV download: fetched with the token (a plain link could not carry it), saved under `filename`.
      async function download(path, filename) {
        const response = await fetch(path, { headers: { ...authHeaders(), Accept: "text/csv" } });
        if (response.status === 401) throw new Unauthorized("refused");
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const url = URL.createObjectURL(await response.blob());
        const link = Object.assign(document.createElement("a"), { href: url, download: filename });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      }

      async function catalog() {
        if (!catalogCache) catalogCache = (await api("/v1/sensors")).sensors;
        return catalogCache;
      }

      // Server-Sent Events read with fetch, so the token travels in the header and never in a URL.
      // Reconnects after 2 s when the stream ends (the server drops a client that falls behind).
      function stream(path, onEvent, onState) {
        const controller = new AbortController();
        const decoder = new TextDecoder();
        (async () => {
          while (!controller.signal.aborted) {
            try {
              const response = await fetch(path, { headers: { ...authHeaders(), Accept: "text/event-stream" }, signal: controller.signal });
              if (response.status === 401) { signOut("Your token was refused."); return; }
              if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
              onState(true);
              const reader = response.body.getReader();
              let buffer = "";
              for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                buffer += decoder.decode(value, { stream: true });
                let end;
                while ((end = buffer.indexOf("\n\n")) >= 0) {
                  const block = buffer.slice(0, end);
                  buffer = buffer.slice(end + 2);
                  let event = "message", data = "";
                  for (const line of block.split("\n")) {
                    if (line.startsWith("event:")) event = line.slice(6).trim();
                    else if (line.startsWith("data:")) data += line.slice(5).trim();
                  }
                  if (data) onEvent(event, JSON.parse(data));
                }
              }
            } catch (error) {
              if (controller.signal.aborted) return;
            }
            onState(false);
            await new Promise(resolve => setTimeout(resolve, 2000));
          }
        })();
        return () => controller.abort();
      }

      // What the current view started (timers, streams) is stopped when it is left.
      const onLeave = stop => leaving.push(stop);
      function leave() { for (const stop of leaving.splice(0)) stop(); }

      function failed(error) {
        if (error instanceof Unauthorized) { signOut("Your token was refused."); return; }
        Views.problem(error.message || String(error));
      }

      function route() {
        leave();
        if (!token()) { Views.signin(); return; }
        document.getElementById("nav").hidden = false;
        document.getElementById("sign-out").hidden = false;
        const [path, query] = location.hash.slice(1).split("?");
        const params = new URLSearchParams(query || "");
        let parts;
        // A fragment that is not percent-encoded UTF-8 (#/sensor/%E0) names nothing: say so, not a blank page.
        try { parts = (path || "").split("/").filter(Boolean).map(decodeURIComponent); } catch (error) {
          Views.problem(`No page at ${location.hash}: it is not valid percent-encoded UTF-8.`);
          return;
        }
        let render;
        if (parts[0] === "sensor" && parts[1]) render = () => Views.sensor(parts[1], params);
        else if (parts[0] === "device" && parts[2]) render = () => Views.device(parts[1], parts[2], params);
        else if (parts[0] === "rejected") render = () => Views.rejected(params);
        else if (parts[0] === "alerts") render = () => Alerts.page(params);
        else render = () => Views.overview();
        render().catch(failed);
      }

      async function signIn(value) {
        if (!value) { Views.signin("Enter a token."); return; }
        // A header carries only Latin-1 without NUL, CR, LF: fetch would throw before asking the service,
        // and a token no browser can send is refused as any other wrong token.
        if (/[\0\r\n]|[^\0-\xff]/.test(value)) { Views.signin("That token was refused."); return; }
        sessionStorage.setItem(tokenKey, value);
        catalogCache = null;
        try {
          await catalog();
          route();
        } catch (error) {
          sessionStorage.removeItem(tokenKey);
          Views.signin(error instanceof Unauthorized ? "That token was refused." : `The query service did not answer: ${error.message}`);
        }
      }

      function signOut(message) {
        leave();
        sessionStorage.removeItem(tokenKey);
        catalogCache = null;
        Views.signin(message);
      }

      document.getElementById("sign-out").addEventListener("click", () => signOut());
      window.addEventListener("hashchange", route);
      return { api, catalog, download, stream, onLeave, route, signIn, signOut, Unauthorized };
    })();
    App.route();
    """#
}

// The classroom pages' script: one event stream per page, charts drawn here as SVG from the shared state.
"use strict";

const CCEI = (() => {
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const pct = (x) => (x === null || x === undefined || Number.isNaN(x) ? "–" : `${Math.round(100 * x)} %`);
  const STRATEGY = { zip: "ZIP agents", "zi-c": "ZI-C agents", "zi-u": "ZI-U agents", truthful: "truthful agents", markup: "mark-up agents" };
  const RULE = { cda: "continuous double auction", uniform: "call market, one price", "pay-as-bid": "call market, pay as bid", mcafee: "McAfee's auction" };
  const COLOURS = ["#1f6feb", "#b35900", "#1a7f37", "#8250df", "#c62828", "#0a7f86", "#6e7781"];

  function money(x, state) {
    return x === null || x === undefined ? "–" : Number(x).toFixed(state.unit.decimals);
  }

  function treatment(state) {
    return `${STRATEGY[state.treatment.strategy] || state.treatment.strategy}, ${RULE[state.treatment.mechanism] || state.treatment.mechanism}`;
  }

  function roundEfficiency(round) {
    let surplus = 0, best = 0;
    for (const p of round.periods) { surplus += p.surplus; best += p.best; }
    return best ? surplus / best : null;
  }

  // Opens the page's event stream; EventSource reconnects by itself (a phone waking up).
  function connect(query, handlers) {
    const source = new EventSource(`/events${query ? "?" + query : ""}`);
    for (const [name, handle] of Object.entries(handlers)) {
      if (name === "error") source.onerror = handle;
      else source.addEventListener(name, (e) => handle(JSON.parse(e.data)));
    }
    return source;
  }

  async function post(url, body, headers = {}) {
    const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body || {}) });
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: `the server answered ${response.status}` }; }
    return { ok: response.ok, status: response.status, data };
  }

  // A chart the size of its box: axes, ticks and layers (step lines, lines, points, horizontal lines).
  function chart(box, spec) {
    const W = Math.max(200, box.clientWidth), H = Math.max(160, box.clientHeight);
    const font = spec.font || 16;
    const legends = spec.layers.filter((l) => l.legend);
    const m = { l: font * 3.6, r: font * 0.8, t: font * 0.6, b: font * (2.9 + 1.3 * legends.length) };  // legends under the x axis, off the data
    const x = (v) => m.l + ((v - spec.x[0]) / (spec.x[1] - spec.x[0] || 1)) * (W - m.l - m.r);
    const y = (v) => H - m.b - ((v - spec.y[0]) / (spec.y[1] - spec.y[0] || 1)) * (H - m.t - m.b);
    const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" style="font-size:${font}px" role="img" aria-label="${esc(spec.label || "")}">`];
    const ticks = (lo, hi, n) => {
      const raw = (hi - lo) / n, mag = 10 ** Math.floor(Math.log10(raw || 1)), step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw) || raw;
      const out = [];
      for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(+v.toFixed(6));
      return out;
    };
    for (const v of ticks(spec.y[0], spec.y[1], 5)) {
      parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(v)}" y2="${y(v)}" stroke="#eef0f5"/>`);
      parts.push(`<text x="${m.l - 6}" y="${y(v) + font * 0.35}" text-anchor="end" fill="#5a6275">${v.toFixed(spec.yDecimals ?? 2)}</text>`);
    }
    for (const v of ticks(spec.x[0], spec.x[1], spec.xTicks || 6).filter((v) => Number.isInteger(v))) {
      parts.push(`<text x="${x(v)}" y="${H - m.b + font * 1.2}" text-anchor="middle" fill="#5a6275">${v}</text>`);
    }
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#5a6275"/><line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#5a6275"/>`);
    parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - m.b + font * 2.45}" text-anchor="middle">${esc(spec.xLabel || "")}</text>`);
    for (const layer of spec.layers) {
      const c = layer.colour || "#1f6feb", dash = layer.dash ? ` stroke-dasharray="6 5"` : "";
      if (layer.kind === "step" && layer.values.length) {
        let d = `M${x(0)},${y(layer.values[0])}`;
        layer.values.forEach((v, i) => { d += ` V${y(v)} H${x(i + 1)}`; });
        parts.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="3"${dash}/>`);
      } else if (layer.kind === "line") {
        const pts = layer.points.filter((p) => p[1] !== null);
        if (pts.length) parts.push(`<polyline points="${pts.map((p) => `${x(p[0])},${y(p[1])}`).join(" ")}" fill="none" stroke="${c}" stroke-width="3"${dash}/>`);
        for (const p of pts) parts.push(`<circle cx="${x(p[0])}" cy="${y(p[1])}" r="4" fill="${c}"/>`);
      } else if (layer.kind === "points") {
        for (const p of layer.points) parts.push(`<circle cx="${x(p[0])}" cy="${y(p[1])}" r="${p[2] ? 7 : 4.5}" fill="${p[2] ? "#c62828" : c}" fill-opacity="0.8"/>`);
      } else if (layer.kind === "hline" && layer.value !== null && layer.value !== undefined) {
        parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(layer.value)}" y2="${y(layer.value)}" stroke="${c}" stroke-width="2" stroke-dasharray="8 6"/>`);
      } else if (layer.kind === "vlines") {
        for (const v of layer.values) parts.push(`<line x1="${x(v)}" x2="${x(v)}" y1="${m.t}" y2="${H - m.b}" stroke="#d6dae3" stroke-dasharray="4 4"/>`);
      }
    }
    let ly = H - m.b + font * 3.75;
    for (const layer of legends) {
      const c = layer.colour || "#1f6feb";
      if (layer.kind === "points") parts.push(`<circle cx="${m.l + font * 0.8}" cy="${ly - font * 0.35}" r="5" fill="${c}"/>`);
      else parts.push(`<line x1="${m.l}" x2="${m.l + font * 1.6}" y1="${ly - font * 0.35}" y2="${ly - font * 0.35}" stroke="${c}" stroke-width="3"${layer.kind === "hline" ? ' stroke-dasharray="6 4"' : ""}/>`);
      parts.push(`<text x="${m.l + font * 2.1}" y="${ly}" fill="${c}" font-weight="600">${esc(layer.legend)}</text>`);
      ly += font * 1.3;
    }
    parts.push("</svg>");
    box.innerHTML = parts.join("");
  }

  // Supply and demand of the agents and the people present, with the equilibrium they imply.
  function staircase(box, state, font) {
    const n = Math.max(state.demand.length, state.supply.length, 1);
    const eq = state.equilibrium;
    chart(box, {
      label: "supply and demand", font, x: [0, n], y: [0, state.ceiling], xLabel: "units", xTicks: 6,
      layers: [
        { kind: "step", values: state.demand, colour: "#1a7f37", legend: "demand (values)" },
        { kind: "step", values: state.supply, colour: "#b35900", legend: "supply (costs)" },
        { kind: "hline", value: eq.price, colour: "#5a6275", legend: eq.price === null ? "no trade possible" : `equilibrium ${money(eq.price, state)}, ${eq.volume} units` },
      ],
    });
  }

  // This round's trade prices in the order they happened, periods marked, people's trades in red.
  function pricePath(box, state, font) {
    const round = state.rounds[state.rounds.length - 1];
    const points = round.trades.map((t, i) => [i + 1, t[1], t[2]]);
    const breaks = [];
    round.trades.forEach((t, i) => { if (i && t[0] !== round.trades[i - 1][0]) breaks.push(i + 0.5); });
    chart(box, {
      label: "prices this round", font, x: [0, Math.max(points.length + 1, 10)], y: [0, state.ceiling], xLabel: "trades this round (dashed: a new period)",
      layers: [
        { kind: "vlines", values: breaks },
        { kind: "hline", value: state.equilibrium.price, colour: "#5a6275", legend: "equilibrium" },
        { kind: "points", points, colour: "#1f6feb", legend: "trade (red: a person's)" },
      ],
    });
  }

  function header(state) {
    return `Round ${state.round} · period ${state.period}`;
  }

  // A countdown to the end of a timed period, read from the state the page last got.
  let timerEnds = null;
  function trackTimer(state, el) {
    timerEnds = state.timer ? Date.now() + 1000 * state.timer.left : null;
    const show = () => {
      if (timerEnds === null) { el.textContent = ""; return; }
      const left = Math.max(0, Math.round((timerEnds - Date.now()) / 1000));
      el.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left`;
    };
    show();
    if (!trackTimer.every) trackTimer.every = setInterval(show, 500);
  }

  // ---------------------------------------------------------------------------------------------- student
  function student() {
    let code = localStorage.getItem("ccei-seat");
    let source = null, state = null, seat = null;
    const say = (el, text, kind) => {
      el.textContent = text;
      el.classList.remove("error", "ok");
      if (kind) el.classList.add(kind);
    };

    function showSeat(view) {
      seat = view;
      $("join").hidden = true;
      $("seat").hidden = false;
      const buying = view.side === "buy";
      $("me-name").textContent = view.name;
      $("me-role").textContent = buying ? "buyer" : "seller";
      $("me-role").className = buying ? "buy" : "sell";
      $("me-code").textContent = view.code;
      $("limit-word").textContent = buying ? "Your value" : "Your cost";
      $("limit").textContent = view.limit;
      const limit = Number(view.limit.replace(/,/g, "")), decimals = (view.limit.split(".")[1] || "").length;
      $("price").placeholder = `e.g. ${(buying ? limit * 0.9 : limit * 1.1).toFixed(decimals)}`;  // a bid under the value, an ask over the cost
      $("price-label").textContent = `Your ${buying ? "bid" : "ask"}${state ? ", " + state.unit.label : ""}`;
      $("submit").textContent = view.quote === null ? `Send ${buying ? "bid" : "ask"}` : `Change ${buying ? "bid" : "ask"}`;
      $("withdraw").disabled = view.quote === null;
      $("standing").textContent = view.quote === null ? "none" : `${view.quote} for period ${state ? state.period + 1 : ""}`;
      $("profit").textContent = view.profit;
      $("history").innerHTML = view.trades.length
        ? view.trades.slice().reverse().map((t) => `<tr><td>${t.round}</td><td>${t.period}</td><td class="num">${t.price}</td><td class="num">${t.profit}</td></tr>`).join("")
        : `<tr><td colspan="4">no trades yet</td></tr>`;
    }

    function showJoin(message) {
      seat = null;
      $("seat").hidden = true;
      $("join").hidden = false;
      if (message) say($("join-msg"), message, "error");
    }

    function open() {
      if (source) source.close();
      source = connect(code ? `seat=${encodeURIComponent(code)}` : "", {
        state: (s) => {
          state = s;
          $("period").textContent = header(s);
          document.querySelectorAll(".unit").forEach((el) => { el.textContent = s.unit.label; });
          trackTimer(s, $("timer"));
          if (seat) showSeat(seat);
        },
        seat: (view) => {
          if (view.seated) { showSeat(view); return; }
          localStorage.removeItem("ccei-seat");  // the teacher removed the seat
          code = null;
          showJoin("Your seat was removed: take a new one with your name.");
          open();
        },
        error: async () => {
          if (!code) return;
          const r = await fetch(`/api/seat/${encodeURIComponent(code)}`);
          if (r.status === 404) {
            localStorage.removeItem("ccei-seat");
            code = null;
            showJoin("Your seat was removed: take a new one with your name.");
            open();
          }
        },
      });
    }

    async function take(body, url) {
      const r = await post(url, body);
      if (!r.ok) { say($("join-msg"), r.data.error, "error"); return; }
      code = r.data.code;
      localStorage.setItem("ccei-seat", code);
      say($("join-msg"), "");
      showSeat(r.data);
      say($("msg"), `Welcome, ${r.data.name}. Your join code is ${r.data.code}: it brings you back to this seat.`, "ok");
      open();
    }

    $("join-form").addEventListener("submit", (e) => { e.preventDefault(); take({ name: $("name").value }, "/api/join"); });
    $("rejoin-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const typed = $("code-input").value.trim().toUpperCase();
      const r = await fetch(`/api/seat/${encodeURIComponent(typed)}`);
      const data = await r.json();
      if (!r.ok) { say($("join-msg"), data.error, "error"); return; }
      code = data.code;
      localStorage.setItem("ccei-seat", code);
      showSeat(data);
      open();
    });
    $("quote-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const r = await post(`/api/seat/${encodeURIComponent(code)}/quote`, { price: $("price").value });
      if (!r.ok) { say($("msg"), r.data.error, "error"); return; }
      $("price").value = "";
      showSeat(r.data);
      say($("msg"), `Your ${r.data.side === "buy" ? "bid" : "ask"} of ${r.data.quote} ${state ? state.unit.label : ""} stands for the next period.`, "ok");
    });
    $("withdraw").addEventListener("click", async () => {
      const r = await post(`/api/seat/${encodeURIComponent(code)}/withdraw`);
      if (!r.ok) { say($("msg"), r.data.error, "error"); return; }
      showSeat(r.data);
      say($("msg"), "Withdrawn: you will not trade next period unless you send a new one.", "ok");
    });

    (async () => {
      if (code) {
        const r = await fetch(`/api/seat/${encodeURIComponent(code)}`);
        if (r.ok) showSeat(await r.json());
        else { localStorage.removeItem("ccei-seat"); code = null; showJoin(); }
      }
      open();
    })();
  }

  // ---------------------------------------------------------------------------------------------- projector
  function projector() {
    let state = null;
    const draw = () => {
      if (!state) return;
      $("period").textContent = header(state);
      $("treatment").textContent = treatment(state);
      trackTimer(state, $("timer"));
      $("join-url").textContent = state.join_url;
      const seats = state.seats;
      const bid = seats.filter((s) => s.bid).length;
      $("bid-count").textContent = `${bid} of ${seats.length}`;
      $("chips").innerHTML = seats.map((s) => `<span class="chip ${s.bid ? "bid" : ""} ${s.present ? "" : "away"}" title="${esc(s.name)}">${s.bid ? "✓ " : ""}${esc(s.name)}</span>`).join("");
      const round = state.rounds[state.rounds.length - 1];
      const last = round.periods[round.periods.length - 1];
      $("eff-period").textContent = last ? pct(last.efficiency) : "–";
      $("eff-round").textContent = pct(roundEfficiency(round));
      const eq = state.equilibrium;
      $("eq-line").textContent = eq.price === null ? "no trade possible" : `${eq.volume} units at ${money(eq.price, state)} ${state.unit.label}, agents and ${eq.people} people present`;
      staircase($("staircase"), state, 18);
      pricePath($("prices"), state, 18);
    };
    connect("", { state: (s) => { state = s; draw(); } });
    window.addEventListener("resize", draw);
  }

  // ---------------------------------------------------------------------------------------------- teacher
  function teacher() {
    const token = new URLSearchParams(location.search).get("token") || "";
    const auth = { "X-Teacher-Token": token };
    let state = null;
    const say = (text, kind) => {
      $("msg").textContent = text;
      $("msg").classList.toggle("error", kind === "error");
    };
    const act = async (action, body) => {
      const r = await post(`/api/teacher/${action}`, body, auth);
      say(r.ok ? "" : r.data.error, r.ok ? "" : "error");
      return r;
    };
    $("export").href = `/api/teacher/export.csv?token=${encodeURIComponent(token)}`;
    $("step").addEventListener("click", async () => { $("step").disabled = true; await act("step"); $("step").disabled = false; });
    $("reset").addEventListener("click", () => act("reset", { strategy: $("strategy").value, mechanism: $("mechanism").value }));
    $("timer-start").addEventListener("click", () => act("timer", { seconds: Number($("seconds").value) }));
    $("timer-stop").addEventListener("click", () => act("timer", { seconds: null }));
    $("seats").addEventListener("click", (e) => {
      const code = e.target.dataset && e.target.dataset.remove;
      if (code && confirm(`Remove the seat ${code}?`)) act("remove", { code });
    });
    connect(`token=${encodeURIComponent(token)}`, {
      state: (s) => {
        state = s;
        $("period").textContent = header(s);
        $("treatment").textContent = treatment(s);
        trackTimer(s, $("timer"));
        if (!$("strategy").dataset.set) {
          $("strategy").value = s.treatment.strategy;
          $("mechanism").value = s.treatment.mechanism;
          $("strategy").dataset.set = "1";
        }
        const round = s.rounds[s.rounds.length - 1];
        const last = round.periods[round.periods.length - 1];
        $("summary").textContent = `efficiency last period ${last ? pct(last.efficiency) : "–"}, this round ${pct(roundEfficiency(round))}; equilibrium ${s.equilibrium.volume} units at ${money(s.equilibrium.price, s)} ${s.unit.label} (agents and ${s.equilibrium.people} people present)`;
        staircase($("staircase"), s, 14);
        pricePath($("prices"), s, 14);
      },
      teacher: (t) => {
        $("csv-path").textContent = t.csv;
        $("seats").innerHTML = t.seats.length
          ? t.seats.map((s) => `<tr><td>${esc(s.name)}</td><td class="${s.side}">${s.side === "buy" ? "buyer" : "seller"}</td><td><code>${s.code}</code></td><td>${s.present ? "here" : "away"}</td><td>${s.bid ? "✓" : ""}</td><td><button class="danger" data-remove="${s.code}">remove</button></td></tr>`).join("")
          : `<tr><td colspan="6">nobody seated yet: students open the join address</td></tr>`;
      },
    });
  }

  // ---------------------------------------------------------------------------------------------- debrief
  function debrief() {
    let state = null;
    const draw = () => {
      if (!state) return;
      const rounds = state.rounds.filter((r) => r.periods.length);
      const n = Math.max(1, ...rounds.map((r) => r.periods.length));
      const label = (r) => `round ${r.number}: ${STRATEGY[r.strategy] || r.strategy}, ${r.mechanism}`;
      const eq = rounds.length ? rounds[rounds.length - 1].periods.slice(-1)[0].eq_price : state.equilibrium.price;
      chart($("mean-prices"), {
        label: "mean price per period, every round", font: 18, x: [0.5, n + 0.5], y: [0, state.ceiling], xLabel: "period",
        layers: [
          { kind: "hline", value: eq, colour: "#5a6275", legend: "equilibrium" },
          ...rounds.map((r, i) => ({ kind: "line", points: r.periods.map((p) => [p.period, p.mean]), colour: COLOURS[i % COLOURS.length], legend: label(r) })),
        ],
      });
      chart($("efficiency"), {
        label: "efficiency per period, every round", font: 18, x: [0.5, n + 0.5], yDecimals: 0, xLabel: "period (efficiency in %; below 0: more lost than gained)",
        y: [Math.min(0, ...rounds.flatMap((r) => r.periods.map((p) => (p.efficiency === null ? 0 : Math.floor(10 * p.efficiency) * 10)))), 105],
        layers: rounds.map((r, i) => ({ kind: "line", points: r.periods.map((p) => [p.period, p.efficiency === null ? null : 100 * p.efficiency]), colour: COLOURS[i % COLOURS.length], legend: `${label(r)}: ${pct(roundEfficiency(r))}` })),
      });
      $("rounds").innerHTML = rounds.map((r) => `<tr><td>${r.number}</td><td>${esc(treatment({ treatment: r }))}</td><td class="num">${r.periods.length}</td><td class="num">${r.trades.length}</td><td class="num">${pct(roundEfficiency(r))}</td></tr>`).join("");
    };
    connect("", { state: (s) => { state = s; draw(); } });
    window.addEventListener("resize", draw);
  }

  return { student, projector, teacher, debrief };
})();

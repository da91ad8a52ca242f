/// The cluster page: one HTML document with its style and script inline, served from the
/// binary (nothing is fetched from anywhere else). The script polls `/cluster/state` every
/// second and redraws; a field the state lacks is shown as "absent", never guessed.
enum ClusterPageAsset {
    static let refreshMillis = 1000

    static let html = #"""
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <title>Skein cluster</title>
    <style>
    body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
    h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
    table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
    th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
    tr.node td { border-top: 2px solid #888; font-weight: 600; } tr.socket td:first-child { padding-left: 1.6em; font-weight: normal; }
    .state { padding: 0 .5em; border-radius: .7em; font-weight: 600; }
    .connected { background: #d7f5d7; color: #135c13; } .disconnected { background: #fbd9d9; color: #8a1111; }
    .partial, .copying { background: #fff0c2; color: #6b5000; } .self, .none, .off { background: #e6e6f5; color: #333366; }
    .absent { color: #999; font-style: italic; } .note { color: #666; max-width: 60em; }
    #banner { display: none; background: #fbd9d9; padding: .5em; margin: .5em 0; } #banner.shown { display: block; }
    progress { width: 8em; }
    </style>
    </head>
    <body>
    <h1>Skein cluster, as <span id="node">…</span> sees it</h1>
    <div class="note">Refreshed every second from <code>/cluster/state</code>. Updated <span id="updated">never</span>; <span id="refreshes">0</span> refreshes.</div>
    <div id="banner"></div>
    <div id="summary"></div>
    <h2>Nodes</h2>
    <table id="nodes">
    <thead><tr><th>Node / database</th><th>Found in</th><th>State</th><th>Lag (ms)</th><th>Entries behind</th><th>Peer behind us (entries)</th>
    <th>Bytes/s in</th><th>Clock offset (ms)</th><th>Latency (ms)</th><th>Copy</th><th>Copy ETA</th></tr></thead>
    <tbody></tbody>
    </table>
    <h2>Record counts per node</h2>
    <table id="counts"><thead><tr><th>Node</th><th>Database</th><th>Records</th><th>Tables</th><th>As of</th></tr></thead><tbody></tbody></table>
    <p class="note" id="peer-counts"></p>
    <h2>Errors</h2>
    <div id="errors" class="note"></div>
    <script>
    "use strict";
    const refreshMillis = \#(refreshMillis);
    const absent = '<span class="absent">absent</span>';
    const copySamples = new Map();   // "node/database" -> first sample {rows, at} of the copy in progress
    let refreshes = 0;

    function esc(v) {
      return String(v).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})[c]);
    }
    function show(v) { return v === null || v === undefined ? absent : esc(v); }
    function seconds(s) {
      if (!isFinite(s)) return absent;
      return s < 90 ? Math.round(s) + " s" : Math.round(s / 60) + " min";
    }

    // The state of a connection from its sockets (one per replicated database).
    function connectionState(node, state) {
      if (node.self) return "self";
      if (state.is_enabled === false) return "off";
      const sockets = (node.connection && node.connection.database_sockets) || [];
      if (sockets.length === 0) return "none";
      const up = sockets.filter(s => s.connected === true).length;
      if (up === 0) return "disconnected";
      if (sockets.some(s => s.copying)) return "copying";
      return up === sockets.length ? "connected" : "partial";
    }
    const stateText = {self: "this node", off: "replication off", none: "no connection", disconnected: "disconnected",
                       copying: "copying", connected: "connected", partial: "partly connected"};

    // Rows copied so far ("Copying dog: 12000 rows"), the rate since the copy was first seen,
    // and the ETA when the state gives the copy's total (cluster_status may not).
    function copyCells(key, socket, now) {
      if (!socket.copying) { copySamples.delete(key); return "<td>" + (socket.copying === null ? "none" : absent) + "</td><td></td>"; }
      const match = /: (\d+) rows/.exec(socket.copying);
      const rows = socket.copy_rows ?? (match ? Number(match[1]) : null);
      const total = socket.copy_total_rows ?? null;
      let first = copySamples.get(key);
      if (!first || rows === null || rows < first.rows) { first = {rows: rows, at: now}; copySamples.set(key, first); }
      const rate = rows !== null && now > first.at ? (rows - first.rows) / ((now - first.at) / 1000) : NaN;
      let progress = "";
      if (total !== null && rows !== null && total > 0) {
        progress = ' <progress max="' + total + '" value="' + rows + '"></progress> ' + rows + " of " + total + " (" + Math.floor(100 * rows / total) + "%)";
      }
      const eta = total === null || rows === null ? null : rate > 0 ? seconds(Math.max(0, total - rows) / rate) : null;
      const etaCell = eta !== null ? '<td data-eta="' + eta + '">' + eta + "</td>"
                    : total === null ? "<td>" + absent + ' <span class="note">(cluster_status gives no total for this copy)</span></td>'
                    : '<td><span class="absent">measuring</span></td>';
      return '<td class="copying" data-copying="' + esc(socket.copying) + '">' + esc(socket.copying) + progress +
             (isFinite(rate) ? ", " + Math.round(rate) + " rows/s" : "") + "</td>" + etaCell;
    }

    function foundIn(node) {
      const where = [];
      if (node.self) where.push("this node");
      if (node.in_hdb_nodes) where.push("hdb_nodes");
      if (node.in_routes) where.push("routes");
      if (node.connection) where.push("cluster_status");
      return esc(where.join(", ")) + (node.url ? "<br><code>" + esc(node.url) + "</code>" : "");
    }

    // One row per node and database: this node's counts (now), then each peer's (as it last
    // reported them); a node whose counts are unknown gets one "absent" row.
    function countRows(state) {
      const peers = state.peer_record_counts || {};
      const rows = [];
      for (const node of state.nodes) {
        const databases = node.self ? state.record_counts && state.record_counts.databases : peers[node.name] && peers[node.name].databases;
        if (!databases || Object.keys(databases).length === 0) {
          rows.push('<tr data-node="' + esc(node.name) + '"><td>' + esc(node.name) + '</td><td colspan="4">' + absent + "</td></tr>");
          continue;
        }
        for (const db of Object.keys(databases).sort()) {
          const tables = databases[db].tables || {};
          rows.push('<tr data-node="' + esc(node.name) + '" data-database="' + esc(db) + '"><td>' + esc(node.name) + "</td><td>" + esc(db) +
                    '</td><td class="num">' + show(databases[db].records) + "</td><td>" +
                    Object.keys(tables).sort().map(t => esc(t) + ": " + show(tables[t])).join(", ") + "</td><td>" +
                    (node.self ? "now" : show(databases[db].as_of)) + "</td></tr>");
        }
      }
      return rows;
    }

    function render(state) {
      const now = Date.now();
      document.getElementById("node").textContent = state.node_name;
      const replicators = (state.replicators || []).map(r => esc(r.replicator ?? r.endpoint) + ": " + esc(r.status)).join(", ");
      document.getElementById("summary").innerHTML =
        "Replication: " + (state.is_enabled === null ? absent : state.is_enabled ? "on" : "off") +
        " · URL " + show(state.url) + ' · refused connections <span id="refused">' + show(state.refused_connections) + "</span>" +
        " · replicators " + (state.replicators === null ? absent : replicators || "none");
      const rows = [];
      for (const node of state.nodes) {
        const st = connectionState(node, state);
        rows.push('<tr class="node" data-node="' + esc(node.name) + '" data-state="' + st + '"><td>' + esc(node.name) + "</td><td>" +
                  foundIn(node) + '</td><td><span class="state ' + st + '">' + stateText[st] + '</span></td><td colspan="8"></td></tr>');
        for (const s of (node.connection && node.connection.database_sockets) || []) {
          rows.push('<tr class="socket" data-socket="' + esc(node.name + "/" + s.database) + '"><td>' + esc(s.database) + "</td><td></td><td>" +
                    (s.connected ? "subscribed" : "not subscribed") + (s.publishing ? ", publishing" : "") +
                    '</td><td class="num">' + show(s.lag_ms) + '</td><td class="num">' + show(s.entries_behind) +
                    '</td><td class="num">' + show(s.lag_entries) + '</td><td class="num" data-bytes="' + esc(s.bytes_per_second) + '">' + show(s.bytes_per_second) +
                    '</td><td class="num">' + show(s.clock_offset_ms) + '</td><td class="num">' + show(s.latency) + "</td>" +
                    copyCells(node.name + "/" + s.database, s, now) + "</tr>");
        }
      }
      document.querySelector("#nodes tbody").innerHTML = rows.join("");
      document.querySelector("#counts tbody").innerHTML = countRows(state).join("");
      document.getElementById("peer-counts").textContent = "Other nodes' counts: " + ((state.notes || {}).peer_record_counts || "");
      const errors = Object.entries(state.errors || {});
      document.getElementById("errors").innerHTML = errors.length === 0 ? "none" : errors.map(([op, e]) => esc(op) + ": " + esc(e)).join("<br>");
      document.getElementById("updated").textContent = new Date(now).toLocaleTimeString();
    }

    async function refresh() {
      const banner = document.getElementById("banner");
      try {
        // location.origin: the page's address may carry user:password@, which fetch refuses.
        const response = await fetch(location.origin + "/cluster/state", {cache: "no-store", credentials: "same-origin",
                                                                         signal: AbortSignal.timeout(5000)});
        if (!response.ok) throw new Error("/cluster/state answered " + response.status);
        render(await response.json());
        banner.className = "";
      } catch (error) {
        banner.textContent = "Cannot refresh: " + error.message + " (showing the last state)";
        banner.className = "shown";
      }
      document.getElementById("refreshes").textContent = ++refreshes;
      setTimeout(refresh, refreshMillis);
    }
    refresh();
    </script>
    </body>
    </html>
    """#
}

// The entries grid: Tabulator (static/ui/vendor/tabulator) over the JSON
// endpoints of ui/views/grid.py and ui/views/grid_actions.py. Rows come a
// page of 100 at a time (remote pages; sort, filters and search run on the
// server), cells save one by one with the values they showed ("seen"), so
// someone else's change is a conflict to resolve, never overwritten. A call
// answered 401 (the session ended) is kept and sent again once signed in.
(function () {
  "use strict";
  var app = document.getElementById("grid-app");
  if (!app || !window.Tabulator) return;
  var PAGE = 100;
  var $ = function (sel) { return app.querySelector(sel); };
  var meta = null, table = null, grid = "", canWrite = false;
  var state = { filters: [], q: "", sort: "", view: app.dataset.view || "" };
  var count = 0, selected = new Set(), allMatching = false, lastClicked = null;
  var undoStack = [];
  // How this browser writes dates (22/11/2001 or 11/22/2001): the order a
  // pasted 03/04/2026 is read in, unless the column's own dates say.
  var dateOrder = (function () {
    try {
      var parts = new Intl.DateTimeFormat().formatToParts(new Date(2001, 10, 22));
      var kinds = parts.map(function (p) { return p.type; }).filter(function (t) { return t === "day" || t === "month"; });
      return kinds[0] === "month" ? "mdy" : "dmy";
    } catch (e) { return "dmy"; }
  })();

  // --- HTTP: JSON with the CSRF header; a 401 waits for signing in again ---
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }
  var waitingForSignIn = [];
  document.addEventListener("gg:signed-in", function () {
    var again = waitingForSignIn; waitingForSignIn = [];
    again.forEach(function (retry) { retry(); });
  });
  function call(method, url, body) {
    return new Promise(function (resolve, reject) {
      function send() {
        var init = { method: method, credentials: "same-origin",
          headers: { "Accept": "application/json", "X-Requested-With": "fetch", "X-CSRFToken": csrf() } };
        if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
        fetch(url, init).then(function (response) {
          if (response.status === 401) {
            waitingForSignIn.push(send);
            if (window.ggSignInAgain) window.ggSignInAgain(); else window.location.reload();
            return;
          }
          return response.json().catch(function () { return {}; }).then(function (data) {
            resolve({ status: response.status, ok: response.ok, data: data });
          });
        }).catch(function () { reject(new Error("The server could not be reached; nothing was changed.")); });
      }
      send();
    });
  }

  // --- Messages -------------------------------------------------------------
  function showError(text) { var el = $("[data-grid-error]"); el.textContent = text || ""; el.hidden = !text; }
  var toastTimer = null;
  function toast(text, batch) {
    var el = $("[data-grid-toast]");
    $("[data-grid-toast-text]").textContent = text;
    $("[data-grid-undo]").hidden = !batch;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.hidden = true; }, 6000);
  }
  function pushBatch(batch, text) {
    if (!batch) { toast(text); return; }
    undoStack.push(batch);
    toast(text, batch);
  }
  function undo() {
    var batch = undoStack.pop();
    if (!batch) { toast("Nothing to undo."); return; }
    call("POST", grid + "undo", { batch: batch }).then(function (r) {
      if (r.ok) { toast("Undone (" + r.data.reverted.toLocaleString("en") + " change" + (r.data.reverted === 1 ? "" : "s") + ")."); reload(); }
      else { showError(r.data.message || "Could not undo."); }
    });
  }

  // --- Rows: the server's JSON as Tabulator data ----------------------------
  function toData(row) {
    var data = { id: row.id, updated_at: row.updated_at, _stored: {}, _labels: row.labels || {} };
    Object.keys(row.values).forEach(function (fid) {
      data["f" + fid] = row.values[fid];
      data._stored[fid] = row.values[fid];
    });
    return data;
  }
  function rowsQuery() {
    var params = new URLSearchParams();
    state.filters.forEach(function (f) { params.append("f", f.field + "." + f.op + "." + f.value); });
    if (state.q) params.set("q", state.q);
    if (state.sort) params.set("sort", state.sort);
    return params;
  }
  function rowsRequest(url, config, params) {
    var sorter = (params.sort || [])[0];
    if (sorter) state.sort = (sorter.dir === "desc" ? "-" : "") + (sorter.field === "id" ? "created_at" : sorter.field.slice(1));
    else if (params.sort) state.sort = "";
    var query = rowsQuery();
    var page = params.page || 1;
    query.set("offset", String((page - 1) * PAGE));
    query.set("limit", String(PAGE));
    return call("GET", app.dataset.rowsUrl + "?" + query.toString()).then(function (r) {
      if (!r.ok) { showError(r.data.message); return { last_page: 1, last_row: 0, data: [] }; }
      showError("");
      count = r.data.count;
      updateCount(page, r.data.rows.length);
      return { last_page: Math.max(1, Math.ceil(count / PAGE)), last_row: count, data: r.data.rows.map(toData) };
    });
  }
  function updateCount(page, shown) {
    var first = shown ? (page - 1) * PAGE + 1 : 0;
    $("[data-grid-count]").textContent = count.toLocaleString("en") + " entr" + (count === 1 ? "y" : "ies") +
      (shown ? " · rows " + first.toLocaleString("en") + "–" + (first + shown - 1).toLocaleString("en") : "");
    var link = document.querySelector("[data-grid-export]");
    if (link) link.search = exportQuery();
  }
  function exportQuery() {
    // The CSV export reads the plain grid's parameters (f=<id>:<op>:<value>).
    var params = new URLSearchParams();
    state.filters.forEach(function (f) { params.append("f", f.field + ":" + f.op + ":" + f.value); });
    if (state.q) params.set("q", state.q);
    if (state.sort) params.set("sort", state.sort.replace(/^(-?)(\d+)$/, "$1f$2"));
    return params.toString();
  }
  function reload() { if (table) table.setData(); }

  // --- Cells: formatters and editors by type ---------------------------------
  function fieldOf(cell) { return meta.byId[cell.getColumn().getField().slice(1)]; }
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; });
  }
  function formatter(field) {
    return function (cell) {
      var value = cell.getValue();
      var el = cell.getElement();
      el.classList.toggle("cell-empty", value === null || value === undefined || value === "");
      if (value === null || value === undefined || value === "") return "";
      if (field.data_type === "boolean") return value === "true" ? "Yes" : "No";
      if (field.data_type === "reference") {
        var label = (cell.getRow().getData()._labels || {})[field.id] || "#" + value;
        if (!field.target) return escapeHtml(label);
        return '<a class="ref-link" href="' + field.target.url + encodeURIComponent(value) + '/" title="Open ' + escapeHtml(label) + '">' + escapeHtml(label) + "</a>";
      }
      if (field.data_type === "datetime") return escapeHtml(String(value).replace("T", " ").slice(0, 16));
      if (field.data_type === "multi_choice") {
        try { return escapeHtml(JSON.parse(value).join(", ")); } catch (e) { return escapeHtml(value); }
      }
      return escapeHtml(value);
    };
  }
  // Reference cells: search-as-you-type in the referenced thing's names.
  function referenceEditor(cell, onRendered, success, cancel) {
    var field = fieldOf(cell);
    var wrap = document.createElement("div");
    wrap.className = "ref-editor";
    var input = document.createElement("input");
    input.type = "text";
    input.setAttribute("aria-label", field.name + ": type to search");
    var list = document.createElement("ul");
    list.className = "ref-options";
    list.setAttribute("role", "listbox");
    wrap.appendChild(input); wrap.appendChild(list);
    var label = (cell.getRow().getData()._labels || {})[field.id];
    input.value = label || cell.getValue() || "";
    var options = [], active = -1, timer = null, done = false;
    function render() {
      var box = input.getBoundingClientRect();
      list.style.top = box.bottom + "px"; list.style.left = box.left + "px";
      list.innerHTML = "";
      options.forEach(function (o, i) {
        var li = document.createElement("li");
        li.textContent = o.label; li.setAttribute("role", "option");
        li.dataset.id = o.id;
        if (i === active) li.setAttribute("aria-selected", "true");
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(o); });
        list.appendChild(li);
      });
    }
    // The options shown are for shownFor; Enter on text typed since waits
    // for its own answer, so a fast typist never picks a stale option.
    var asked = 0, shownFor = null;
    function search() {
      clearTimeout(timer); timer = null;
      var q = input.value, mine = ++asked;
      return call("GET", grid + "fields/" + field.id + "/options?limit=20&q=" + encodeURIComponent(q)).then(function (r) {
        if (mine !== asked) return;
        options = r.ok && Array.isArray(r.data) ? r.data : [];
        active = options.length ? 0 : -1;
        shownFor = q;
        render();
      });
    }
    function pickActive() { if (active >= 0) { choose(options[active]); moveDown(); } }
    function choose(option) {
      if (done) return; done = true;
      var data = cell.getRow().getData();
      data._labels = Object.assign({}, data._labels); data._labels[field.id] = option ? option.label : "";
      success(option ? String(option.id) : null);
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 150); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault(); e.stopPropagation();
        if (options.length) { active = (active + (e.key === "ArrowDown" ? 1 : -1) + options.length) % options.length; render(); }
      } else if (e.key === "Enter") {
        e.preventDefault(); e.stopPropagation();
        if (input.value.trim() === "") choose(null);
        else if (shownFor !== input.value) search().then(pickActive);
        else pickActive();
      } else if (e.key === "Escape") { e.stopPropagation(); done = true; cancel(); }
    });
    input.addEventListener("blur", function () { if (!done) { done = true; cancel(); } });
    onRendered(function () { input.focus(); input.select(); search(); });
    return wrap;
  }
  function editorOf(field) {
    switch (field.data_type) {
      case "boolean":
        return { editor: "list", editorParams: { values: [{ label: "Yes", value: "true" }, { label: "No", value: "false" }, { label: "— (empty)", value: "" }], autocomplete: true, allowEmpty: true, listOnEmpty: true } };
      case "choice":
        return { editor: "list", editorParams: { values: [{ label: "— (empty)", value: "" }].concat((field.choices || []).map(function (c) { return { label: c, value: c }; })), autocomplete: true, allowEmpty: true, listOnEmpty: true } };
      case "date":
        return { editor: "date", editorParams: {} };
      case "long_text": case "json":
        return { editor: "textarea", editorParams: { shiftEnterSubmit: true } };
      case "reference":
        return { editor: referenceEditor };
      default:
        return { editor: "input", editorParams: field.numeric ? { elementAttributes: { inputmode: "decimal" } } : {} };
    }
  }

  // --- Saving a cell ---------------------------------------------------------
  function save(cell, value) {
    var field = fieldOf(cell);
    var row = cell.getRow();
    var data = row.getData();
    var values = {}, seen = {};
    values[field.id] = value === "" || value === undefined ? null : value;
    seen[field.id] = data._stored[field.id] === null || data._stored[field.id] === undefined ? "" : data._stored[field.id];
    var el = cell.getElement();
    el.classList.remove("cell-invalid", "cell-conflict"); el.removeAttribute("title");
    return call("PATCH", grid + "rows/" + data.id, { values: values, seen: seen }).then(function (r) {
      if (r.ok) {
        row.update(toData(r.data));
        cell.getElement().classList.add("cell-saved");
        setTimeout(function () { cell.getElement().classList.remove("cell-saved"); }, 1200);
        pushBatch(r.data.batch, field.name + " of entry #" + data.id + " saved.");
      } else if (r.status === 409) {
        conflict(cell, value, r.data);
      } else {
        var message = (r.data.details && r.data.details.fields && r.data.details.fields[field.id]) || r.data.message || "Not saved.";
        cell.getElement().classList.add("cell-invalid");
        cell.getElement().title = message;
        toast(field.name + " of entry #" + data.id + ": " + message);
      }
    }, function (error) { toast(error.message); });
  }
  function conflict(cell, mine, body) {
    var field = fieldOf(cell);
    var current = body.details && body.details.current;
    var theirs = current ? current.values[field.id] : null;
    var pop = $("[data-grid-conflict]");
    cell.getElement().classList.add("cell-conflict");
    var shown = theirs === null || theirs === undefined || theirs === "" ? "empty" : ((current.labels || {})[field.id] || theirs);
    $("[data-grid-conflict-text]").textContent = field.name + " was changed by someone else meanwhile: it is now “" + shown + "”. Yours: “" + (mine === null || mine === "" ? "empty" : mine) + "”.";
    var rect = cell.getElement().getBoundingClientRect();
    pop.style.top = (window.scrollY + rect.bottom + 4) + "px";
    pop.style.left = Math.max(8, Math.min(window.scrollX + rect.left, window.innerWidth - 340)) + "px";
    pop.hidden = false;
    // What is stored now becomes what this cell saw: keeping mine replaces it.
    var data = cell.getRow().getData();
    if (current) { data._stored = toData(current)._stored; data.updated_at = current.updated_at; data._labels = current.labels || {}; }
    $("[data-grid-keep-mine]").onclick = function () { pop.hidden = true; save(cell, mine); };
    $("[data-grid-take-theirs]").onclick = function () {
      pop.hidden = true; cell.getElement().classList.remove("cell-conflict");
      if (current) cell.getRow().update(toData(current));
    };
    $("[data-grid-keep-mine]").focus();
  }
  function moveDown() {
    setTimeout(function () {
      var range = table.modules.selectRange;
      if (range && range.navigate) range.navigate(false, false, "down");
    }, 0);
  }

  // --- Columns ---------------------------------------------------------------
  function selectColumn() {
    return {
      field: "_select", title: "", headerSort: false, frozen: true, resizable: false, width: 38, hozAlign: "center",
      clipboard: false, download: false, editable: false, cssClass: "select-cell",
      titleFormatter: function () { return '<input type="checkbox" aria-label="Select all on this page" data-select-page>'; },
      formatter: function (cell) {
        var id = cell.getRow().getData().id;
        return '<input type="checkbox" aria-label="Select entry ' + id + '"' + (allMatching || selected.has(id) ? " checked" : "") + ">";
      },
      cellClick: function (e, cell) { e.stopPropagation(); toggleRow(cell.getRow(), e.shiftKey); },
    };
  }
  function idColumn() {
    return { field: "id", title: "#", headerSort: true, width: 70, hozAlign: "right", frozen: true, editable: false, clipboard: false,
      formatter: function (cell) { var id = cell.getValue(); return '<a href="' + meta.urls.entries + id + '/" title="Entry #' + id + ' in a form">' + id + "</a>"; } };
  }
  function columnOf(field, index) {
    var column = {
      field: "f" + field.id, title: field.name, headerTooltip: field.name, tooltip: true,
      hozAlign: field.numeric ? "right" : "left", headerHozAlign: field.numeric ? "right" : "left",
      formatter: formatter(field), maxInitialWidth: 320, minWidth: 70,
      frozen: index === 0, cssClass: "type-" + field.data_type,
    };
    if (canWrite) Object.assign(column, editorOf(field));
    return column;
  }
  function columnsFor(config) {
    var fields = meta.fields.slice();
    var byField = {};
    ((config && config.columns) || []).forEach(function (c, i) { byField[c.field_id] = { i: i, c: c }; });
    if (config && config.columns && config.columns.length) {
      fields.sort(function (a, b) {
        var x = byField[a.id] ? byField[a.id].i : 1e6, y = byField[b.id] ? byField[b.id].i : 1e6;
        return x - y;
      });
    }
    var frozen = !config || config.frozen === undefined ? 1 : config.frozen;
    var columns = fields.map(function (f, i) {
      var column = columnOf(f, i);
      column.frozen = i < frozen;
      var saved = byField[f.id] && byField[f.id].c;
      if (saved) { if (saved.width) column.width = saved.width; column.visible = !saved.hidden; }
      return column;
    });
    var lead = [idColumn()];
    if (canWrite) lead.unshift(selectColumn());
    lead.forEach(function (c) { c.frozen = frozen > 0; });
    $("[data-grid-freeze]").checked = frozen > 0;
    return lead.concat(columns);
  }
  function columnToggles() {
    var box = $("[data-grid-column-toggles]");
    box.innerHTML = "";
    table.getColumns().forEach(function (column) {
      var key = column.getField();
      if (!/^f\d+$/.test(key)) return;
      var label = document.createElement("label");
      label.className = "check";
      var input = document.createElement("input");
      input.type = "checkbox"; input.checked = column.isVisible();
      input.addEventListener("change", function () { input.checked ? column.show() : column.hide(); });
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + column.getDefinition().title));
      box.appendChild(label);
    });
  }
  function setFrozen(on) {
    var first = true;
    table.getColumns().forEach(function (column) {
      var key = column.getField();
      var lead = key === "_select" || key === "id";
      var isFirstField = /^f\d+$/.test(key) && first && column.isVisible();
      if (isFirstField) first = false;
      column.updateDefinition({ frozen: on && (lead || isFirstField) });
    });
  }
  function currentConfig() {
    var columns = table.getColumns().filter(function (c) { return /^f\d+$/.test(c.getField()); }).map(function (c) {
      return { field_id: Number(c.getField().slice(1)), width: Math.round(c.getWidth()), hidden: !c.isVisible() };
    });
    return { columns: columns, order: columns.map(function (c) { return c.field_id; }),
      frozen: $("[data-grid-freeze]").checked ? 1 : 0, sort: state.sort, filters: state.filters.slice(), q: state.q };
  }

  // --- Row selection and the bulk bar ------------------------------------------
  function toggleRow(row, shift) {
    var id = row.getData().id;
    allMatching = false;
    if (shift && lastClicked !== null) {
      var rows = table.getRows();
      var a = rows.findIndex(function (r) { return r.getData().id === lastClicked; });
      var b = rows.indexOf(row);
      if (a >= 0) rows.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (r) { selected.add(r.getData().id); });
    } else if (selected.has(id)) selected.delete(id); else selected.add(id);
    lastClicked = id;
    refreshSelection();
  }
  function refreshSelection() {
    var bar = $("[data-grid-bulk]");
    if (!bar) return;
    var n = allMatching ? count : selected.size;
    bar.hidden = n === 0;
    $("[data-grid-selected]").textContent = n.toLocaleString("en") + " selected" + (allMatching ? " (all matching)" : "");
    var pageIds = table.getRows().map(function (r) { return r.getData().id; });
    var wholePage = pageIds.length > 0 && pageIds.every(function (id) { return selected.has(id); });
    var all = $("[data-grid-select-all]");
    all.hidden = allMatching || !wholePage || count <= pageIds.length;
    all.textContent = "Select all " + count.toLocaleString("en") + " matching";
    table.getRows().forEach(function (r) {
      var box = r.getCell("_select") && r.getCell("_select").getElement().querySelector("input");
      if (box) box.checked = allMatching || selected.has(r.getData().id);
    });
    var head = app.querySelector("[data-select-page]");
    if (head) head.checked = allMatching || wholePage;
  }
  function clearSelection() { selected.clear(); allMatching = false; refreshSelection(); }
  function bulk(action, extra) {
    var body = Object.assign({ action: action, date_order: dateOrder }, extra || {});
    if (allMatching) { body.all_matching = true; body.query = rowsQuery().toString(); }
    else body.ids = Array.from(selected);
    return call("POST", grid + "bulk", body).then(function (r) {
      if (!r.ok) { showError(r.data.message || "Nothing was changed."); return; }
      showError("");
      var words = action === "trash" ? "moved to the trash" : action === "restore" ? "restored" : "changed";
      var note = r.data.referenced ? " " + r.data.referenced.toLocaleString("en") + " reference" + (r.data.referenced === 1 ? "" : "s") + " from other entries still point at them." : "";
      pushBatch(r.data.batch, r.data.changed.toLocaleString("en") + " entr" + (r.data.changed === 1 ? "y" : "ies") + " " + words + "." + note);
      clearSelection();
      reload();
    });
  }
  function wireBulk() {
    var bar = $("[data-grid-bulk]");
    if (!bar) return;
    var select = $("[data-grid-bulk-field]");
    meta.fields.forEach(function (f) { var o = new Option(f.name, f.id); select.appendChild(o); });
    app.addEventListener("change", function (e) {
      if (!e.target.matches("[data-select-page]")) return;
      allMatching = false;
      table.getRows().forEach(function (r) { var id = r.getData().id; if (e.target.checked) selected.add(id); else selected.delete(id); });
      refreshSelection();
    });
    app.addEventListener("click", function (e) { if (e.target.matches("[data-select-page]")) e.stopPropagation(); }, true);
    $("[data-grid-select-all]").addEventListener("click", function () { allMatching = true; refreshSelection(); });
    $("[data-grid-select-none]").addEventListener("click", clearSelection);
    $("[data-grid-bulk-trash]").addEventListener("click", function () {
      var n = allMatching ? count : selected.size;
      if (window.confirm("Move " + n.toLocaleString("en") + " entr" + (n === 1 ? "y" : "ies") + " to the trash?")) bulk("trash");
    });
    $("[data-grid-bulk-update]").addEventListener("click", function () {
      var values = {}; var v = $("[data-grid-bulk-value]").value;
      values[select.value] = v === "" ? null : v;
      bulk("update", { values: values });
    });
  }

  // --- Keyboard: typing replaces, Tab moves, Delete clears, Ctrl+Z undoes -------
  function activeCell() {
    var ranges = table.getRanges ? table.getRanges() : [];
    if (!ranges.length) return null;
    var cells = ranges[0].getCells();
    return cells.length && cells[0].length ? cells[0][0] : null;
  }
  function editing() { return table.modules.edit && table.modules.edit.currentCell; }
  function onKey(e) {
    if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === "z" && !editing()) { e.preventDefault(); undo(); return; }
    if (editing()) {
      var kind = (fieldOf(editing().getComponent()) || {}).data_type;
      if (e.key === "Enter" && !e.shiftKey && kind !== "reference") moveDown();
      return;
    }
    var cell = activeCell();
    if (!cell || !/^f\d+$/.test(cell.getColumn().getField())) return;
    if (e.key === "Tab") {
      e.preventDefault();
      table.modules.selectRange.navigate(false, false, e.shiftKey ? "left" : "right");
      return;
    }
    if (!canWrite) return;
    if (e.key === "Delete" || e.key === "Backspace") { e.preventDefault(); clearRange(); return; }
    if (e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      cell.edit(true);
      var input = cell.getElement().querySelector("input, textarea");
      if (input) {
        input.value = e.key;
        input.dispatchEvent(new Event("input", { bubbles: true }));
        input.dispatchEvent(new KeyboardEvent("keyup", { bubbles: true, key: e.key }));
      }
    }
  }
  function rangeCells() {
    var ranges = table.getRanges();
    return ranges.length ? ranges[0].getCells().map(function (row) {
      return row.filter(function (c) { return /^f\d+$/.test(c.getColumn().getField()); });
    }).filter(function (row) { return row.length; }) : [];
  }
  function clearRange() {
    var rows = rangeCells();
    if (!rows.length) return;
    if (rows.length === 1 && rows[0].length === 1) { rows[0][0].setValue(null); return; }
    var fieldIds = rows[0].map(function (c) { return Number(c.getColumn().getField().slice(1)); });
    pasteRows(fieldIds, rows.map(function (row) {
      return { id: row[0].getRow().getData().id, cells: row.map(function () { return ""; }) };
    }), "cleared");
  }

  // --- Copy and paste of TSV ranges -----------------------------------------------
  function parseTsv(text) {
    var rows = [], row = [], cell = "", quoted = false;
    text = text.replace(/\r\n?/g, "\n");
    if (text.endsWith("\n")) text = text.slice(0, -1);
    for (var i = 0; i < text.length; i++) {
      var ch = text[i];
      if (quoted) {
        if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
        else if (ch === '"') quoted = false;
        else cell += ch;
      } else if (ch === '"' && cell === "") quoted = true;
      else if (ch === "\t") { row.push(cell); cell = ""; }
      else if (ch === "\n") { row.push(cell); rows.push(row); row = []; cell = ""; }
      else cell += ch;
    }
    row.push(cell); rows.push(row);
    return rows;
  }
  function onPaste(e) {
    if (!canWrite || editing()) return;
    var start = activeCell();
    if (!start || !/^f\d+$/.test(start.getColumn().getField())) return;
    var text = (e.clipboardData || window.clipboardData).getData("text/plain");
    if (!text) return;
    e.preventDefault(); e.stopPropagation();
    var grid2 = parseTsv(text);
    var columns = table.getColumns().filter(function (c) { return c.isVisible() && /^f\d+$/.test(c.getField()); });
    var first = columns.findIndex(function (c) { return c.getField() === start.getColumn().getField(); });
    var width = Math.max.apply(null, grid2.map(function (r) { return r.length; }));
    var target = columns.slice(first, first + width);
    if (target.length < width) { toast("The pasted range is wider than the columns to its right."); return; }
    var rows = table.getRows("active");
    var top = rows.indexOf(start.getRow());
    var body = grid2.map(function (cells, i) {
      var row = rows[top + i];
      while (cells.length < width) cells.push("");
      return { id: row ? row.getData().id : null, cells: cells };
    });
    pasteRows(target.map(function (c) { return Number(c.getField().slice(1)); }), body, "pasted", target, top);
  }
  function pasteRows(fieldIds, rows, words, columns, top) {
    app.querySelectorAll(".cell-invalid").forEach(function (el) { el.classList.remove("cell-invalid"); el.removeAttribute("title"); });
    call("POST", grid + "paste", { field_ids: fieldIds, rows: rows, date_order: dateOrder }).then(function (r) {
      if (r.ok) {
        var n = r.data.changed + (r.data.created ? r.data.created.length : 0);
        pushBatch(r.data.batch, n + " value" + (n === 1 ? "" : "s") + " " + words + (r.data.created && r.data.created.length ? ", " + r.data.created.length + " entries created" : "") + ".");
        reload();
        return;
      }
      var cells = (r.data.details && r.data.details.cells) || [];
      var pageRows = table.getRows("active");
      cells.forEach(function (c) {
        var row = pageRows[(top || 0) + c.row];
        var key = "f" + fieldIds[c.col];
        var cell = row && row.getCell(key);
        if (cell) { cell.getElement().classList.add("cell-invalid"); cell.getElement().title = c.message; }
      });
      showError((r.data.message || "Nothing was pasted.") + (cells.length ? " " + cells.slice(0, 5).map(function (c) {
        return "Row " + (c.row + 1) + ", column " + (c.col + 1) + ": " + c.message;
      }).join(" · ") : ""));
    });
  }

  // --- Filters, search, views -------------------------------------------------------
  function renderChips() {
    var list = $("[data-grid-chips]");
    list.innerHTML = "";
    state.filters.forEach(function (f, i) {
      var field = meta.byId[f.field];
      var ops = meta.operators[field ? field.data_type : ""] || [];
      var op = ops.find(function (o) { return o.op === f.op; });
      var li = document.createElement("li");
      li.className = "chip";
      var text = (field ? field.name : "#" + f.field) + " " + (op ? op.label : f.op) + (f.value ? " " + f.value.replace("..", " and ") : "");
      li.textContent = text + " ";
      var x = document.createElement("button");
      x.type = "button"; x.className = "link"; x.textContent = "×";
      x.setAttribute("aria-label", "Remove filter: " + text);
      x.addEventListener("click", function () { state.filters.splice(i, 1); renderChips(); reload(); });
      li.appendChild(x);
      list.appendChild(li);
    });
  }
  function syncFilterForm() {
    var field = meta.byId[$("[data-filter-field]").value];
    var opSelect = $("[data-filter-op]");
    var keep = opSelect.value;
    opSelect.innerHTML = "";
    ((field && meta.operators[field.data_type]) || []).forEach(function (o) { opSelect.appendChild(new Option(o.label, o.op)); });
    if (Array.prototype.some.call(opSelect.options, function (o) { return o.value === keep; })) opSelect.value = keep;
    var kind = !field ? "text" : /date/.test(field.data_type) ? "date" : field.numeric ? "number" : "text";
    [$("[data-filter-value]"), $("[data-filter-value2]")].forEach(function (input) {
      input.type = kind === "date" ? "date" : "text";
      input.inputMode = kind === "number" ? "decimal" : "";
      input.disabled = opSelect.value === "empty" || opSelect.value === "notempty";
    });
    if (field && field.data_type === "boolean") {
      $("[data-filter-value]").placeholder = "yes or no";
    }
    $("[data-filter-and]").hidden = opSelect.value !== "between";
  }
  function wireFilters() {
    var select = $("[data-filter-field]");
    meta.fields.forEach(function (f) { select.appendChild(new Option(f.name, f.id)); });
    app.addEventListener("change", function (e) { if (e.target.matches("[data-filter-field], [data-filter-op]")) syncFilterForm(); });
    $("[data-grid-filters]").addEventListener("submit", function (e) {
      e.preventDefault();
      var field = select.value, op = $("[data-filter-op]").value;
      if (!field || !op) return;
      var value = $("[data-filter-value]").value.trim();
      if (op === "between") value = value + ".." + $("[data-filter-value2]").value.trim();
      if (op === "empty" || op === "notempty") value = "";
      state.filters.push({ field: Number(field), op: op, value: value });
      renderChips(); reload();
    });
    var timer = null;
    $("[data-grid-q]").addEventListener("input", function (e) {
      clearTimeout(timer);
      timer = setTimeout(function () { state.q = e.target.value.trim(); reload(); }, 300);
    });
    syncFilterForm();
  }
  function wireViews() {
    var select = document.querySelector("[data-grid-views]");
    (meta.views || []).forEach(function (v) { select.appendChild(new Option(v.name, v.id)); });
    select.value = state.view;
    select.addEventListener("change", function () {
      var url = new URL(window.location.href);
      if (select.value) url.searchParams.set("view", select.value); else url.searchParams.delete("view");
      window.location.href = url.toString();
    });
    var current = (meta.views || []).find(function (v) { return String(v.id) === state.view; });
    var remove = document.querySelector("[data-grid-delete-view]");
    if (remove && current) {
      remove.hidden = false;
      remove.addEventListener("click", function () {
        if (!window.confirm("Delete the view “" + current.name + "” for everyone?")) return;
        call("DELETE", grid + "views/" + current.id).then(function (r) {
          if (r.status !== 204 && !r.ok) { showError(r.data.message || "The view was not deleted."); return; }
          var url = new URL(window.location.href);
          url.searchParams.delete("view");
          window.location.href = url.toString();
        });
      });
    }
    var button = document.querySelector("[data-grid-save-view]");
    if (!button) return;
    button.addEventListener("click", function () {
      var current = (meta.views || []).find(function (v) { return String(v.id) === state.view; });
      var name = window.prompt("Save these columns, sort and filters as the view named:", current ? current.name : "");
      if (!name) return;
      var config = currentConfig();
      var request = current && current.name.toLowerCase() === name.trim().toLowerCase()
        ? call("PATCH", grid + "views/" + current.id, { name: name.trim(), config: config })
        : call("POST", grid + "views", { name: name.trim(), config: config });
      request.then(function (r) {
        if (!r.ok) { showError(r.data.message || "The view was not saved."); return; }
        var url = new URL(window.location.href);
        url.searchParams.set("view", r.data.id);
        window.location.href = url.toString();
      });
    });
  }
  function viewConfig() {
    var view = (meta.views || []).find(function (v) { return String(v.id) === state.view; });
    if (!view) return null;
    var config = view.config || {};
    state.filters = (config.filters || []).slice();
    state.sort = config.sort || "";
    state.q = config.q || "";
    $("[data-grid-q]").value = state.q;
    return config;
  }

  // --- Go to row --------------------------------------------------------------------
  function goTo(n) {
    if (!(n >= 1)) return;
    n = Math.min(n, Math.max(count, 1));
    var page = Math.ceil(n / PAGE);
    var index = (n - 1) % PAGE;
    var jump = function () {
      var row = table.getRows("active")[index];
      if (!row) return;
      table.scrollToRow(row, "top", false).then(function () {
        var first = table.getColumns().find(function (c) { return c.isVisible() && /^f\d+$/.test(c.getField()); });
        if (first && table.addRange) { table.getRanges().forEach(function (r) { r.remove(); }); table.addRange(row.getCell(first), row.getCell(first)); }
      });
    };
    if (table.getPage() === page) jump(); else table.setPage(page).then(jump);
  }

  // --- Start ------------------------------------------------------------------------
  call("GET", app.dataset.metaUrl).then(function (r) {
    if (!r.ok) { showError(r.data.message || "The grid could not load."); return; }
    meta = r.data;
    grid = meta.urls.grid;
    canWrite = meta.can_write;
    meta.byId = {};
    meta.fields.forEach(function (f) { meta.byId[f.id] = f; });
    var config = viewConfig();
    renderChips();
    var initialSort = [];
    if (state.sort) {
      var key = state.sort.replace(/^-/, "");
      initialSort = [{ column: key === "created_at" || key === "id" ? "id" : "f" + key, dir: state.sort[0] === "-" ? "desc" : "asc" }];
    }
    table = new Tabulator($("[data-grid]"), {
      height: "min(70vh, 44rem)",
      layout: "fitData",
      index: "id",
      columns: columnsFor(config),
      initialSort: initialSort,
      columnDefaults: { headerTooltip: true, resizable: true },
      movableColumns: true,
      placeholder: "No entries match.",
      pagination: true, paginationMode: "remote", paginationSize: PAGE, paginationButtonCount: 5,
      paginationCounter: function (size, page, pages, rows) { return "Page " + page.toLocaleString("en") + " of " + pages.toLocaleString("en"); },
      sortMode: "remote", filterMode: "remote",
      ajaxURL: app.dataset.rowsUrl, ajaxRequestFunc: rowsRequest,
      selectableRange: 1, selectableRangeColumns: true, selectableRangeRows: false,
      selectableRangeClearCells: false, selectableRangeAutoFocus: false,
      editTriggerEvent: "dblclick",
      clipboard: "copy", clipboardCopyRowRange: "range", clipboardCopyStyled: false,
      clipboardCopyConfig: { rowHeaders: false, columnHeaders: false },
      clipboardCopyFormatter: function (type, output) { return output; },
    });
    table.on("cellEdited", function (cell) {
      if (!/^f\d+$/.test(cell.getColumn().getField())) return;
      var value = cell.getValue();
      var stored = cell.getRow().getData()._stored[cell.getColumn().getField().slice(1)];
      if ((value === "" || value === null || value === undefined) && (stored === null || stored === undefined || stored === "")) return;
      if (value === stored) return;
      save(cell, value);
    });
    table.on("tableBuilt", function () {
      columnToggles();
      wireFilters(); wireViews(); wireBulk();
    });
    table.on("dataProcessed", function () { refreshSelection(); });
    table.on("columnMoved", columnToggles);
    var holder = $("[data-grid]");
    holder.addEventListener("keydown", onKey, true);
    holder.addEventListener("paste", onPaste, true);
    $("[data-grid-freeze]").addEventListener("change", function (e) { setFrozen(e.target.checked); });
    $("[data-grid-undo]").addEventListener("click", undo);
    $("[data-grid-goto]").addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); goTo(parseInt(e.target.value.replace(/[^0-9]/g, ""), 10)); }
    });
    window.ggGrid = { table: table, state: state, currentConfig: currentConfig, goTo: goTo };
  }, function (error) { showError(error.message); });
})();

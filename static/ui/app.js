// Gather Grid UI behaviour that htmx does not cover: keyboard movement in the
// entries grid and copy buttons. Everything works without it, only slower.
(function () {
  "use strict";
  // htmx: swap 4xx answers too (validation errors are rendered next to the
  // cell or form); keep 5xx out of the page and say so.
  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) {
      htmx.config.responseHandling = [
        { code: "204", swap: false },
        { code: "[23]..", swap: true },
        { code: "4..", swap: true, error: false },
        { code: "...", swap: false, error: true },
      ];
    }
  });
  // A save after the session ended (401): keep the edit, ask for the password
  // in place, then send the kept edits again with the new session and token.
  var waiting = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status !== 401) return;
    event.detail.shouldSwap = false;
    event.detail.isError = false;
    // The element that sent the request (detail.elt is where it would swap).
    var sender = (event.detail.requestConfig && event.detail.requestConfig.elt) || event.detail.elt;
    if (waiting.indexOf(sender) < 0) waiting.push(sender);
    signInAgain();
  });
  // Also called by the grid (static/ui/grid.js), which keeps its own calls and
  // sends them again on "gg:signed-in".
  function signInAgain() {
    var dialog = document.getElementById("sign-in-again");
    if (!dialog) { window.location.reload(); return; }
    if (!dialog.firstElementChild) {
      dialog.appendChild(document.getElementById("sign-in-again-form").content.cloneNode(true));
    }
    if (!dialog.open) dialog.showModal();
  }
  window.ggSignInAgain = signInAgain;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-sign-in-again]")) return;
    event.preventDefault();
    var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    var error = form.querySelector("[data-sign-in-error]");
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: new FormData(form),
      headers: { "X-CSRFToken": headers["X-CSRFToken"] || "", "Accept": "application/json" },
      credentials: "same-origin",
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (!result.ok) {
        error.textContent = result.body.message || "Could not sign in.";
        error.hidden = false;
        return;
      }
      headers["X-CSRFToken"] = result.body.csrf_token;
      document.body.setAttribute("hx-headers", JSON.stringify(headers));
      error.hidden = true;
      form.querySelector("input[type=password]").value = "";
      form.closest("dialog").close();
      document.dispatchEvent(new CustomEvent("gg:signed-in"));
      var again = waiting; waiting = [];
      again.forEach(function (elt) {
        if (document.body.contains(elt)) htmx.trigger(elt, elt.tagName === "FORM" ? "submit" : "change");
      });
    }).catch(function () {
      error.textContent = "The server could not be reached; try again.";
      error.hidden = false;
    });
  });
  document.addEventListener("htmx:responseError", function (event) {
    alert("The server could not save this (" + event.detail.xhr.status + "). Nothing was changed; try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    alert("The server could not be reached. Nothing was changed; try again.");
  });

  // Grid: arrow keys (with Alt, or from a non-text control) and Enter move
  // between cells of a table.grid, like a spreadsheet.
  function cellOf(el) { return el && el.closest("table.grid td"); }
  function focusCell(td) {
    if (!td) return;
    var target = td.querySelector("input, select, textarea, button, a, [tabindex]");
    (target || td).focus();
    if (target && target.select && target.type !== "checkbox") target.select();
  }
  document.addEventListener("keydown", function (event) {
    var td = cellOf(event.target);
    if (!td) return;
    var tr = td.parentElement;
    var index = Array.prototype.indexOf.call(tr.children, td);
    var textual = event.target.tagName === "TEXTAREA" || (event.target.tagName === "INPUT" && /text|number|date|email|search/.test(event.target.type));
    var move = null;
    if (event.key === "ArrowDown" || (event.key === "Enter" && event.target.tagName === "INPUT" && event.target.type !== "checkbox")) move = [1, 0];
    else if (event.key === "ArrowUp") move = [-1, 0];
    else if (event.key === "ArrowRight" && (!textual || event.altKey)) move = [0, 1];
    else if (event.key === "ArrowLeft" && (!textual || event.altKey)) move = [0, -1];
    if (event.target.tagName === "SELECT" && (event.key === "ArrowDown" || event.key === "ArrowUp") && !event.altKey) return;
    if (event.target.tagName === "TEXTAREA" && (event.key === "ArrowDown" || event.key === "ArrowUp") && !event.altKey) return;
    if (!move) return;
    if (event.key === "Enter" && event.target.form === null) event.target.dispatchEvent(new Event("change", { bubbles: true }));
    var row = tr;
    if (move[0] === 1) row = tr.nextElementSibling;
    if (move[0] === -1) row = tr.previousElementSibling;
    if (!row) return;
    var next = row.children[index + move[1]];
    if (next) { event.preventDefault(); focusCell(next); }
  });

  // Copy buttons: <button data-copy="#id">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.innerText).then(function () {
      var label = button.textContent; button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1200);
    });
  });
})();

// --- Things and fields pages: show a field form's choices/reference inputs
// only for the data types that use them (all stay visible without JS). ---
(function () {
  "use strict";
  function sync(form) {
    var select = form.querySelector("select[name$='data_type']");
    if (!select) return;
    form.querySelectorAll("[data-show-for]").forEach(function (part) {
      part.hidden = part.getAttribute("data-show-for").split(" ").indexOf(select.value) < 0;
    });
  }
  function syncAll(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("form.field-form").forEach(sync);
  }
  document.addEventListener("DOMContentLoaded", function () { syncAll(document); });
  document.addEventListener("htmx:load", function (event) { syncAll(event.target.parentElement || document); });
  document.addEventListener("change", function (event) {
    if (event.target.matches("form.field-form select[name$='data_type']")) sync(event.target.form);
  });
})();

// Entries grid (ui/views/entries.py): forms with data-confirm ask first
// (delete moves an entry to the trash).
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});

// Entries grid: the filter form offers the conditions the chosen field's type
// takes (no "contains" on a number) and a value input of its kind (a date
// picker for dates, none for "is empty"). Without it the server still refuses
// a condition that does not apply, and says why.
(function () {
  "use strict";
  function sync(form) {
    var field = form.querySelector("[data-filter-field]");
    var op = form.querySelector("select[name=add_op]");
    var value = form.querySelector("input[name=add_value]");
    if (!field || !op || !value) return;
    var chosen = field.selectedOptions[0];
    var ops = chosen && chosen.dataset.ops ? chosen.dataset.ops.split(" ") : null;
    Array.prototype.forEach.call(op.options, function (option) {
      var allowed = !ops || ops.indexOf(option.value) >= 0;
      option.hidden = !allowed;
      option.disabled = !allowed;
    });
    if (op.selectedOptions[0] && op.selectedOptions[0].disabled) {
      var first = Array.prototype.find.call(op.options, function (o) { return !o.disabled; });
      if (first) op.value = first.value;
    }
    var kind = (chosen && chosen.dataset.input) || "text";
    value.type = kind === "date" ? "date" : "text";
    value.inputMode = kind === "number" ? "decimal" : "";
    value.disabled = op.value === "empty" || op.value === "notempty";
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-filter-field], select[name=add_op]")) sync(event.target.form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.filters").forEach(sync);
  });
})();

// Narrow screens: the sections sidebar folds into the topbar's Menu button.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-menu-toggle]");
  if (!button) return;
  var nav = document.getElementById(button.getAttribute("aria-controls"));
  var open = !nav.classList.contains("open");
  nav.classList.toggle("open", open);
  button.setAttribute("aria-expanded", String(open));
});

// CSV import: show the upload's progress (htmx reports the bytes sent), then
// an indeterminate bar while the server reads and stages the rows.
(function () {
  "use strict";
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest("form[data-upload]");
    if (!form || !event.detail.lengthComputable) return;
    var box = form.parentElement.querySelector("[data-upload-progress]");
    var bar = box.querySelector("progress");
    var label = box.querySelector("span");
    box.hidden = false;
    if (event.detail.loaded < event.detail.total) {
      bar.value = Math.round((100 * event.detail.loaded) / event.detail.total);
      label.textContent = "Uploading… " + bar.value + "%";
    } else {
      bar.removeAttribute("value");
      label.textContent = "Reading the rows…";
    }
  });
})();

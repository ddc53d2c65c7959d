// The pages' few behaviours: upload with a byte progress bar, drag and
// drop, and live progress of a server-side job. Everything else is HTML.
(function () {
  "use strict";

  function $(sel) { return document.querySelector(sel); }

  function setupUpload() {
    var form = $("#upload-form");
    if (!form) return;
    var input = $("#file");
    var zone = $("#drop-zone");
    var bar = $("#upload-progress");
    var error = $("#upload-error");
    var chosen = $("#file-chosen");
    function show(file) { if (chosen) chosen.textContent = file ? file.name + " (" + file.size.toLocaleString() + " bytes)" : ""; }
    input.addEventListener("change", function () { show(input.files[0]); });
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; show(input.files[0]); }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      error.textContent = "";
      if (!input.files.length) { error.textContent = "Choose a file to upload first."; input.focus(); return; }
      var data = new FormData();
      ["profile", "date_format", "decimal_style", "expected_patient_balance", "expected_credit_total", "expected_patient_count"].forEach(function (name) {
        var field = form.elements[name];
        if (field && field.value) data.append(name, field.value);
      });
      data.append("file", input.files[0], input.files[0].name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/v1/imports/patient-balances");
      xhr.setRequestHeader("X-Requested-By", "bf");
      bar.hidden = false;
      bar.value = 0;
      xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) { bar.max = ev.total; bar.value = ev.loaded; } };
      xhr.onload = function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (_) { }
        if (xhr.status === 202 && body.id) { window.location.assign("/imports/" + body.id); return; }
        var message = body.error && body.error.message ? body.error.message : "The upload did not go through.";
        error.textContent = message.charAt(0).toUpperCase() + message.slice(1);
        $("#upload-submit").disabled = false;
      };
      xhr.onerror = function () { error.textContent = "The connection dropped during the upload; please try again."; $("#upload-submit").disabled = false; };
      $("#upload-submit").disabled = true;
      xhr.send(data);
    });
  }

  function setupProgress() {
    var panel = $("#progress-panel");
    if (!panel) return;
    var id = panel.getAttribute("data-import-id");
    var status = panel.getAttribute("data-status");
    var last = null;
    var rate = null;
    function tick() {
      fetch("/v1/imports/" + id, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (imp) {
        if (imp.status !== status) { window.location.reload(); return; }
        var bar = $("#job-progress");
        bar.value = imp.progress;
        var done = status === "approving" ? imp.claims_created : imp.rows_processed;
        $("#rows-processed").textContent = done.toLocaleString();
        var now = Date.now();
        if (last) {
          var instant = (done - last.done) / ((now - last.at) / 1000);
          rate = rate === null ? instant : rate * 0.7 + instant * 0.3;
          $("#rows-per-second").textContent = Math.max(0, Math.round(rate)).toLocaleString();
          var progressRate = (imp.progress - last.progress) / ((now - last.at) / 1000);
          if (progressRate > 0) {
            var seconds = Math.round((1 - imp.progress) / progressRate);
            $("#eta").textContent = seconds < 60 ? seconds + " s" : Math.round(seconds / 60) + " min";
          }
        }
        last = { done: done, progress: imp.progress, at: now };
        setTimeout(tick, 1000);
      }).catch(function () { setTimeout(tick, 3000); });
    }
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () { setupUpload(); setupProgress(); });
})();

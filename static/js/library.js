// Document library: uploads with real progress, the edit, re-ingest and delete actions,
// and the documents' rows, which only the server draws (knowledge/_document_row.html).
// A row asks for itself again through htmx (static/vendor/htmx/): every 1.5 s while its
// document is queued or being ingested, and when an action here changed it ("refresh");
// a new document's row is asked for the same way. The upload list reads the rows.
// Plain JS, no build step.
(function () {
  "use strict";

  var form = document.getElementById("upload-form");
  if (!form) return;
  var api = form.dataset.api;
  var csrf = window.LineLeadApi.csrfToken();
  var parse = window.LineLeadApi.parse;
  var request = window.LineLeadApi.request;
  var problem = window.LineLeadApi.problem;
  var limits = JSON.parse(document.getElementById("upload-limits").textContent);
  var input = document.getElementById("file-input");
  var chooser = document.getElementById("choose-files");
  var dropzone = document.getElementById("dropzone");
  var captionInput = document.getElementById("upload-caption");
  var uploadList = document.getElementById("uploads");
  var table = document.getElementById("documents");
  var tbody = table.tBodies[0];
  var emptyState = document.getElementById("empty-state");
  var countLabel = document.getElementById("document-count");
  var message = document.getElementById("library-message");
  var heading = document.getElementById("documents-title");
  var deleteDialog = document.getElementById("delete-dialog");
  var editDialog = document.getElementById("edit-dialog");
  var editForm = document.getElementById("edit-form");

  var queue = [];
  var uploading = false;
  var uploadItems = {}; // document id -> upload list items that follow it

  // --- Small helpers ------------------------------------------------------------

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }

  function say(text, isError) {
    message.textContent = text;
    message.classList.toggle("is-error", Boolean(isError));
    message.hidden = false;
  }

  // --- Rows, drawn by the server ------------------------------------------------------

  function rowFor(id) {
    return tbody.querySelector('tr[data-id="' + id + '"]');
  }

  function titleOf(row) {
    var title = row.querySelector(".doc-title");
    return title ? title.textContent : "";
  }

  /** Have the row ask the server for itself again (its hx-trigger "refresh"). */
  function refresh(row) {
    window.htmx.trigger(row, "refresh");
  }

  /** A new document's row: an empty one in its place by title, which the server's
   * replaces. */
  function addRow(doc) {
    var row = document.createElement("tr");
    row.className = "doc-row";
    row.dataset.id = doc.id;
    var before = Array.prototype.find.call(tbody.rows, function (other) {
      return titleOf(other).localeCompare(doc.title, undefined, { sensitivity: "base" }) > 0;
    });
    tbody.insertBefore(row, before || null);
    sync();
    window.htmx.ajax("GET", table.dataset.rows + "?id=" + doc.id, {
      source: row, target: row, swap: "outerHTML",
    });
  }

  function removeRow(id) {
    var row = rowFor(id);
    if (row) row.remove();
    sync();
  }

  /** After any change of rows: the count, and the uploads that follow a document. */
  function sync() {
    var count = tbody.rows.length;
    countLabel.textContent = plural(count, "document");
    table.hidden = count === 0;
    emptyState.hidden = count > 0;
    Object.keys(uploadItems).forEach(function (id) {
      followUploads(id, rowFor(id));
    });
  }

  // A swapped row keeps what the user had open (its menu on a phone, the warning) and
  // the keyboard focus: the server's row comes closed.
  var kept = {};

  function selectorOf(node) {
    if (node.dataset.action) return '[data-action="' + node.dataset.action + '"]';
    if (node.tagName === "SUMMARY") return "." + node.parentElement.classList[0] + " > summary";
    if (node.classList.contains("doc-title")) return ".doc-title";
    return null;
  }

  tbody.addEventListener("htmx:beforeSwap", function (event) {
    var answered = new URL(event.detail.xhr.responseURL, window.location.href).pathname;
    if (answered !== table.dataset.rows) {
      event.detail.shouldSwap = false; // sent to sign in: not a row
      say("Signed out: reload the page to sign in again.", true);
      return;
    }
    var row = event.detail.target;
    var focused = row.contains(document.activeElement) ? document.activeElement : null;
    kept[row.dataset.id] = {
      open: Array.prototype.map.call(row.querySelectorAll("details[open]"), function (d) {
        return d.classList[0];
      }),
      focus: focused && selectorOf(focused),
    };
  });

  tbody.addEventListener("htmx:afterSwap", function (event) {
    var row = event.target;
    var state = row.tagName === "TR" && kept[row.dataset.id];
    if (!state) return;
    delete kept[row.dataset.id];
    state.open.forEach(function (name) {
      var details = row.querySelector("details." + name);
      if (details) details.open = true;
    });
    var focus = state.focus && row.querySelector(state.focus);
    if (focus) focus.focus();
  });

  tbody.addEventListener("htmx:afterRequest", sync);
  function unchecked(status) {
    say("Could not check on the documents: " + problem({ status: status }) + ".", true);
  }
  tbody.addEventListener("htmx:sendError", function () {
    unchecked(0);
  });
  tbody.addEventListener("htmx:responseError", function (event) {
    unchecked(event.detail.xhr.status);
  });

  // --- Uploads ---------------------------------------------------------------------

  function extension(name) {
    var dot = name.lastIndexOf(".");
    return dot === -1 ? "" : name.slice(dot).toLowerCase();
  }

  function precheck(file) {
    if (!file.size) return file.name + " is empty";
    var limit = limits[extension(file.name)];
    var bytes = limit ? limit.bytes : Number(form.dataset.largest);
    if (file.size > bytes) {
      var what = limit ? limit.what : "a file";
      var mb = (file.size / 1048576).toFixed(1);
      return file.name + " is " + mb + " MB; " + what + " may be at most " + bytes / 1048576 + " MB";
    }
    return "";
  }

  function uploadItem(file) {
    var item = document.createElement("li");
    item.className = "upload-item";
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Progress of " + file.name);
    var state = document.createElement("span");
    state.className = "upload-state";
    state.setAttribute("role", "status");
    state.textContent = "Waiting to upload";
    item.append(name, bar, state);
    uploadList.append(item);
    uploadList.hidden = false;
    return item;
  }

  function itemState(item, text, kind, link) {
    var state = item.querySelector(".upload-state");
    if (state.textContent === text + (link ? " \u00b7 Open" : "")) return;
    state.textContent = text;
    item.dataset.state = kind;
    if (link) {
      var open = document.createElement("a");
      open.href = link;
      open.textContent = "Open";
      state.append(" \u00b7 ", open);
    }
    if (kind === "error" || kind === "ready" || kind === "failed") {
      item.querySelector("progress").hidden = true;
    }
  }

  /** The upload items of document ``id`` say what its row says (null: it was deleted). */
  function followUploads(id, row) {
    (uploadItems[id] || []).forEach(function (item) {
      var status = row ? row.dataset.status : "deleted";
      if (status === "deleted") {
        itemState(item, "Deleted", "error");
      } else if (status === "ready") {
        var warnings = Number(row.dataset.warnings);
        var done = "Ready \u00b7 " + plural(Number(row.dataset.pages), "page") + " \u00b7 " +
          plural(Number(row.dataset.chunks), "passage");
        if (warnings) done += " \u00b7 " + plural(warnings, "warning");
        item.classList.toggle("has-warnings", warnings > 0);
        itemState(item, done, "ready", row.querySelector(".doc-title").href);
      } else if (status === "failed") {
        itemState(item, "Failed: " + row.querySelector(".doc-error").textContent, "failed");
      } else if (status) {
        // Queued or processing; no status yet: its row is on the way.
        var shown = row.querySelector(".doc-progress progress");
        var bar = item.querySelector("progress");
        if (shown.hasAttribute("value")) bar.value = shown.value;
        else bar.removeAttribute("value");
        var reading = "Reading " + row.querySelector(".doc-progress-text").textContent;
        if (status === "queued") reading = "Uploaded \u00b7 waiting to start";
        itemState(item, reading, "ingesting");
      }
    });
  }

  function addFiles(files) {
    var caption = captionInput.value.trim();
    Array.prototype.forEach.call(files, function (file) {
      var item = uploadItem(file);
      var trouble = precheck(file);
      if (trouble) {
        itemState(item, "Not added: " + trouble, "error");
        return;
      }
      queue.push({ file: file, item: item, caption: caption });
    });
    input.value = "";
    next();
  }

  function next() {
    if (uploading || !queue.length) return;
    uploading = true;
    send(queue.shift());
  }

  function finished() {
    uploading = false;
    next();
  }

  function received(job, status, data) {
    if (status === 201) {
      (uploadItems[data.id] = uploadItems[data.id] || []).push(job.item);
      itemState(job.item, "Uploaded \u00b7 waiting to start", "ingesting");
      if (!rowFor(data.id)) addRow(data);
    } else if (status === 200 && data && data.duplicate) {
      itemState(job.item, "Already in the library as \u201c" + data.title + "\u201d", "duplicate");
      if (!rowFor(data.id)) addRow(data);
    } else {
      itemState(job.item, "Not added: " + problem({ status: status, data: data }), "error");
    }
  }

  function send(job) {
    var bar = job.item.querySelector("progress");
    var body = new FormData();
    body.append("file", job.file);
    var limit = limits[extension(job.file.name)];
    if (job.caption && limit && limit.what === "an image") {
      body.append("caption", job.caption);
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", api);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      var percent = Math.round((event.loaded / event.total) * 100);
      bar.value = percent;
      itemState(job.item, "Uploading " + percent + "%", "uploading");
    });
    xhr.upload.addEventListener("load", function () {
      bar.value = 100;
      itemState(job.item, "Checking the file", "uploading");
    });
    xhr.addEventListener("load", function () {
      received(job, xhr.status, parse(xhr.responseText));
      finished();
    });
    xhr.addEventListener("error", function () {
      itemState(job.item, "Not added: " + problem({ status: 0 }), "error");
      finished();
    });
    itemState(job.item, "Uploading 0%", "uploading");
    xhr.send(body);
  }

  chooser.addEventListener("click", function () {
    input.click();
  });
  input.addEventListener("change", function () {
    if (input.files.length) addFiles(input.files);
  });

  function hasFiles(event) {
    var types = event.dataTransfer ? event.dataTransfer.types : [];
    return Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  ["dragenter", "dragover"].forEach(function (type) {
    dropzone.addEventListener(type, function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      dropzone.classList.add("is-dragging");
    });
  });
  dropzone.addEventListener("dragleave", function (event) {
    if (!dropzone.contains(event.relatedTarget)) dropzone.classList.remove("is-dragging");
  });
  dropzone.addEventListener("drop", function (event) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dropzone.classList.remove("is-dragging");
    addFiles(event.dataTransfer.files);
  });
  // A file dropped beside the zone would make the browser leave the page to open it.
  ["dragover", "drop"].forEach(function (type) {
    window.addEventListener(type, function (event) {
      if (!hasFiles(event) || dropzone.contains(event.target)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "none";
    });
  });
  window.addEventListener("beforeunload", function (event) {
    if (uploading || queue.length) event.preventDefault();
  });

  // --- Row actions -------------------------------------------------------------------

  function confirmDelete(row) {
    var id = row.dataset.id;
    var title = titleOf(row);
    deleteDialog.querySelector('[data-field="title"]').textContent = "\u201c" + title + "\u201d";
    deleteDialog.returnValue = "";
    deleteDialog.addEventListener(
      "close",
      function () {
        if (deleteDialog.returnValue !== "delete") return;
        request("DELETE", api + "/" + id).then(function (answer) {
          if (answer.status === 204 || answer.status === 404) {
            removeRow(id);
            say("Deleted \u201c" + title + "\u201d.");
            heading.focus();
          } else {
            say("Could not delete \u201c" + title + "\u201d: " + problem(answer), true);
          }
        });
      },
      { once: true }
    );
    deleteDialog.showModal();
  }

  function reingest(row, button) {
    var title = titleOf(row);
    button.disabled = true;
    request("POST", api + "/" + row.dataset.id + "/reingest").then(function (answer) {
      if (answer.status === 202) {
        refresh(row);
        say("Re-ingesting \u201c" + title + "\u201d.");
      } else {
        button.disabled = false;
        say("Could not re-ingest \u201c" + title + "\u201d: " + problem(answer), true);
      }
    });
  }

  var editing = null;

  function edit(row) {
    editing = row.dataset.id;
    editForm.elements.title.value = titleOf(row);
    editForm.elements.caption.value = row.querySelector('[data-field="caption"]').textContent;
    document.getElementById("edit-caption-field").hidden = row.dataset.kind !== "image";
    document.getElementById("edit-error").hidden = true;
    editDialog.showModal();
  }

  editForm.addEventListener("submit", function (event) {
    if (!event.submitter || event.submitter.value !== "save" || !editing) return;
    event.preventDefault();
    var id = editing;
    var changes = { title: editForm.elements.title.value.trim() };
    var row = rowFor(id);
    if (row && row.dataset.kind === "image") {
      changes.caption = editForm.elements.caption.value.trim();
    }
    request("PATCH", api + "/" + id, changes).then(function (answer) {
      if (answer.status === 200) {
        row = rowFor(id);
        if (row) refresh(row);
        editDialog.close("save");
        say("Saved \u201c" + answer.data.title + "\u201d.");
      } else {
        var error = document.getElementById("edit-error");
        error.textContent = "Not saved: " + problem(answer);
        error.hidden = false;
      }
    });
  });

  // On phones a document's actions are in a menu: one open at a time, closed by a tap
  // elsewhere or Escape, and closed (its button focused, for the dialogs to return to)
  // when an action is chosen.
  function closeMenu(menu) {
    if (!menu || !menu.open) return;
    menu.open = false;
    menu.querySelector("summary").focus();
  }

  document.addEventListener("click", function (event) {
    tbody.querySelectorAll(".doc-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  tbody.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenu(event.target.closest(".doc-menu"));
  });

  tbody.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) return;
    closeMenu(button.closest(".doc-menu"));
    var row = button.closest("tr");
    if (button.dataset.action === "delete") confirmDelete(row);
    if (button.dataset.action === "reingest") reingest(row, button);
    if (button.dataset.action === "edit") edit(row);
  });
})();

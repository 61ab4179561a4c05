// Document library: uploads with real progress, ingestion progress polled from the
// API, and the edit, re-ingest and delete actions. Plain JS, no build step.
(function () {
  "use strict";

  var POLL_MS = 1500;
  var ACTIVE = { queued: true, processing: true };

  var form = document.getElementById("upload-form");
  if (!form) return;
  var api = form.dataset.api;
  var csrf = window.LineLeadApi.csrfToken();
  var parse = window.LineLeadApi.parse;
  var request = window.LineLeadApi.request;
  var config = JSON.parse(document.getElementById("library-labels").textContent);
  var input = document.getElementById("file-input");
  var chooser = document.getElementById("choose-files");
  var dropzone = document.getElementById("dropzone");
  var captionInput = document.getElementById("upload-caption");
  var uploadList = document.getElementById("uploads");
  var table = document.getElementById("documents");
  var tbody = table.tBodies[0];
  var rowTemplate = document.getElementById("document-row");
  var emptyState = document.getElementById("empty-state");
  var countLabel = document.getElementById("document-count");
  var message = document.getElementById("library-message");
  var heading = document.getElementById("documents-title");
  var deleteDialog = document.getElementById("delete-dialog");
  var editDialog = document.getElementById("edit-dialog");
  var editForm = document.getElementById("edit-form");

  var queue = [];
  var uploading = false;
  var watched = {}; // document id -> true while it is queued or processing
  var uploadItems = {}; // document id -> upload list items that follow it
  var pollTimer = null;

  // --- Small helpers ------------------------------------------------------------

  function problem(status, data) {
    if (data && data.message) return data.message;
    if (status === 0) return "the connection was lost; check the network and try again";
    return "the server answered HTTP " + status;
  }

  function fileSize(bytes) {
    if (bytes < 1024) return bytes + (bytes === 1 ? "\u00a0byte" : "\u00a0bytes");
    var units = ["KB", "MB", "GB"];
    var size = bytes / 1024;
    var unit = 0;
    while (size >= 1024 && unit < units.length - 1) {
      size /= 1024;
      unit += 1;
    }
    return size.toFixed(1) + "\u00a0" + units[unit];
  }

  function day(iso) {
    var options = { month: "short", day: "numeric", year: "numeric" };
    return new Date(iso).toLocaleDateString("en-US", options);
  }

  function progressText(doc) {
    if (doc.status === "queued") return "Waiting to start";
    if (!doc.page_count) return "Starting";
    return doc.pages_done + " of " + doc.page_count + " pages";
  }

  function plural(count, word) {
    return count + " " + word + (count === 1 ? "" : "s");
  }

  function say(text, isError) {
    message.textContent = text;
    message.classList.toggle("is-error", Boolean(isError));
    message.hidden = false;
  }

  // --- Rows -----------------------------------------------------------------------

  function rowFor(id) {
    return tbody.querySelector('tr[data-id="' + id + '"]');
  }

  function each(row, name, fn) {
    Array.prototype.forEach.call(row.querySelectorAll('[data-field="' + name + '"]'), fn);
  }

  function setText(row, name, text) {
    each(row, name, function (el) {
      el.textContent = text;
    });
  }

  function fillRow(row, doc) {
    row.dataset.id = doc.id;
    row.dataset.status = doc.status;
    row.dataset.kind = doc.kind;
    each(row, "title", function (el) {
      el.textContent = el.classList.contains("visually-hidden") ? " " + doc.title : doc.title;
      if (el.tagName === "A") el.href = doc.url;
    });
    row.querySelector('[data-field="open"]').href = doc.url;
    row.querySelector('[data-field="download"]').href = doc.original_url;
    setText(row, "filename", doc.filename);
    setText(row, "kind", config.kind[doc.kind] || doc.kind);
    setText(row, "size", fileSize(doc.size));
    each(row, "caption", function (el) {
      el.textContent = doc.caption;
      el.hidden = !doc.caption;
    });
    each(row, "status", function (el) {
      el.className = "status status-" + doc.status;
      el.textContent = config.status[doc.status] || doc.status;
    });
    each(row, "progress", function (el) {
      el.hidden = !ACTIVE[doc.status];
      var bar = el.querySelector("progress");
      if (doc.status === "processing" && doc.page_count) {
        bar.value = Math.round(doc.progress * 100);
      } else {
        bar.removeAttribute("value");
      }
    });
    setText(row, "progress-text", progressText(doc));
    each(row, "error", function (el) {
      el.textContent = doc.error;
      el.hidden = doc.status !== "failed";
    });
    fillWarnings(row, doc);
    setText(row, "pages", String(doc.page_count));
    setText(row, "chunks", String(doc.chunk_count));
    // Embeddings follow ingestion: until all are stored, search finds some passages by
    // words only.
    each(row, "meaning", function (el) {
      el.hidden = doc.status !== "ready" || doc.vectors_done >= doc.chunk_count;
      el.textContent = doc.vectors_done + " by meaning so far";
    });
    setText(row, "uploaded_by", doc.uploaded_by || "\u2014");
    each(row, "created_at", function (el) {
      var time = document.createElement("time");
      time.dateTime = doc.created_at;
      time.textContent = day(doc.created_at);
      el.replaceChildren(time);
    });
    row.querySelector('[data-action="reingest"]').disabled = doc.status === "processing";
  }

  // Sentences written to an AI assistant, with their pages: managers see what the
  // assistant will not quote.
  function fillWarnings(row, doc) {
    var box = row.querySelector('[data-field="warnings"]');
    var warnings = doc.warnings || [];
    box.hidden = warnings.length === 0;
    var items = warnings.map(function (warning) {
      var item = document.createElement("li");
      var page = document.createElement("a");
      page.className = "doc-warning-page";
      page.href = doc.url + "pages/" + warning.page + "/";
      page.textContent = "Page " + warning.page;
      var text = document.createElement("q");
      text.textContent = warning.text;
      item.append(page, " ", text);
      return item;
    });
    var list = box.querySelector('[data-field="warning-list"]');
    list.replaceChildren.apply(list, items);
    var more = doc.warnings_found > warnings.length;
    box.querySelector('[data-field="warning-more"]').textContent = more
      ? doc.warnings_found + " found in all; the first ones are listed."
      : "";
  }

  function updateCount() {
    var count = tbody.rows.length;
    countLabel.textContent = plural(count, "document");
    table.hidden = count === 0;
    emptyState.hidden = count > 0;
  }

  function addRow(doc) {
    var row = rowTemplate.content.firstElementChild.cloneNode(true);
    fillRow(row, doc);
    var before = Array.prototype.find.call(tbody.rows, function (other) {
      var title = other.querySelector(".doc-title").textContent;
      return title.localeCompare(doc.title, undefined, { sensitivity: "base" }) > 0;
    });
    tbody.insertBefore(row, before || null);
    updateCount();
    return row;
  }

  function removeRow(id) {
    var row = rowFor(id);
    if (row) row.remove();
    delete watched[id];
    updateCount();
  }

  // --- Ingestion progress ----------------------------------------------------------

  function watch(id) {
    watched[id] = true;
    schedulePoll();
  }

  function schedulePoll() {
    if (pollTimer === null && Object.keys(watched).length) {
      pollTimer = window.setTimeout(poll, POLL_MS);
    }
  }

  function poll() {
    pollTimer = null;
    if (document.hidden) {
      schedulePoll();
      return;
    }
    var checks = Object.keys(watched).map(function (id) {
      return request("GET", api + "/" + id).then(function (answer) {
        if (answer.status === 404) {
          removeRow(id);
          followUploads(id, null);
        } else if (answer.status === 200) {
          showDocument(answer.data);
        }
      });
    });
    Promise.all(checks).then(schedulePoll, schedulePoll);
  }

  function showDocument(doc) {
    var row = rowFor(doc.id);
    if (row) fillRow(row, doc);
    followUploads(doc.id, doc);
    if (ACTIVE[doc.status]) {
      watch(doc.id);
    } else {
      delete watched[doc.id];
    }
  }

  // --- Uploads ---------------------------------------------------------------------

  function extension(name) {
    var dot = name.lastIndexOf(".");
    return dot === -1 ? "" : name.slice(dot).toLowerCase();
  }

  function precheck(file) {
    if (!file.size) return file.name + " is empty";
    var limit = config.limits[extension(file.name)];
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

  function itemState(item, text, kind, doc) {
    var state = item.querySelector(".upload-state");
    state.textContent = text;
    item.dataset.state = kind;
    if (doc && kind === "ready") {
      var link = document.createElement("a");
      link.href = doc.url;
      link.textContent = "Open";
      state.append(" \u00b7 ", link);
    }
    if (kind === "error" || kind === "ready" || kind === "failed") {
      item.querySelector("progress").hidden = true;
    }
  }

  function followUploads(id, doc) {
    (uploadItems[id] || []).forEach(function (item) {
      var bar = item.querySelector("progress");
      if (doc === null) {
        itemState(item, "Deleted", "error");
      } else if (doc.status === "ready") {
        var done = "Ready \u00b7 " + plural(doc.page_count, "page");
        done += " \u00b7 " + plural(doc.chunk_count, "passage");
        if (doc.warnings_found) done += " \u00b7 " + plural(doc.warnings_found, "warning");
        item.classList.toggle("has-warnings", doc.warnings_found > 0);
        itemState(item, done, "ready", doc);
      } else if (doc.status === "failed") {
        itemState(item, "Failed: " + doc.error, "failed");
      } else {
        if (doc.status === "processing" && doc.page_count) {
          bar.value = Math.round(doc.progress * 100);
        } else {
          bar.removeAttribute("value");
        }
        var reading = doc.status === "queued" ? "Uploaded \u00b7 waiting to start" : "";
        itemState(item, reading || "Reading " + progressText(doc), "ingesting");
      }
    });
  }

  function follow(item, doc) {
    (uploadItems[doc.id] = uploadItems[doc.id] || []).push(item);
    followUploads(doc.id, doc);
  }

  function addFiles(files) {
    var caption = captionInput.value.trim();
    Array.prototype.forEach.call(files, function (file) {
      var item = uploadItem(file);
      var trouble = precheck(file);
      if (trouble) {
        itemState(item, trouble, "error");
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
      if (!rowFor(data.id)) addRow(data);
      follow(job.item, data);
      watch(data.id);
    } else if (status === 200 && data && data.duplicate) {
      itemState(job.item, "Already in the library as \u201c" + data.title + "\u201d", "duplicate");
      if (!rowFor(data.id)) addRow(data);
    } else {
      itemState(job.item, "Not added: " + problem(status, data), "error");
    }
  }

  function send(job) {
    var bar = job.item.querySelector("progress");
    var body = new FormData();
    body.append("file", job.file);
    var limit = config.limits[extension(job.file.name)];
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
      itemState(job.item, "Not added: " + problem(0, null), "error");
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

  function titleOf(row) {
    return row.querySelector(".doc-title").textContent;
  }

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
            followUploads(id, null);
            say("Deleted \u201c" + title + "\u201d.");
            heading.focus();
          } else {
            say("Could not delete \u201c" + title + "\u201d: " + problem(answer.status, answer.data), true);
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
        showDocument(answer.data);
        say("Re-ingesting \u201c" + title + "\u201d.");
      } else {
        button.disabled = false;
        say("Could not re-ingest \u201c" + title + "\u201d: " + problem(answer.status, answer.data), true);
      }
    });
  }

  var editing = null;

  function edit(row) {
    editing = row;
    var caption = row.querySelector('[data-field="caption"]').textContent;
    editForm.elements.title.value = titleOf(row);
    editForm.elements.caption.value = caption;
    document.getElementById("edit-caption-field").hidden = row.dataset.kind !== "image";
    document.getElementById("edit-error").hidden = true;
    editDialog.showModal();
  }

  editForm.addEventListener("submit", function (event) {
    if (!event.submitter || event.submitter.value !== "save" || !editing) return;
    event.preventDefault();
    var row = editing;
    var changes = { title: editForm.elements.title.value.trim() };
    if (row.dataset.kind === "image") changes.caption = editForm.elements.caption.value.trim();
    request("PATCH", api + "/" + row.dataset.id, changes).then(function (answer) {
      if (answer.status === 200) {
        showDocument(answer.data);
        editDialog.close("save");
        say("Saved \u201c" + answer.data.title + "\u201d.");
      } else {
        var error = document.getElementById("edit-error");
        error.textContent = "Not saved: " + problem(answer.status, answer.data);
        error.hidden = false;
      }
    });
  });

  tbody.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-action]");
    if (!button) return;
    var row = button.closest("tr");
    if (button.dataset.action === "delete") confirmDelete(row);
    if (button.dataset.action === "reingest") reingest(row, button);
    if (button.dataset.action === "edit") edit(row);
  });

  Array.prototype.forEach.call(tbody.rows, function (row) {
    if (ACTIVE[row.dataset.status]) watch(row.dataset.id);
  });
})();

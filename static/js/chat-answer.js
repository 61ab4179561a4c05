// One answer on the chat screen: streamed text with a caret, citation cards, the
// full-page viewer, thumbs up/down, copy and timing. chat.js creates answers and feeds
// them the websocket's events; this file knows nothing about the socket.
(function () {
  "use strict";

  var ns = window.LineLeadChat;
  var md = ns.markdown;
  var DECLINE = "The manuals don't cover that — ask your manager.";
  var FAILED = "The assistant could not finish this answer.";
  var config = JSON.parse(document.getElementById("chat-config").textContent);
  var parse = window.LineLeadApi.parse;
  var request = window.LineLeadApi.request;
  var answerTemplate = document.getElementById("answer-template");
  var questionTemplate = document.getElementById("question-template");
  var citationTemplate = document.getElementById("citation-template");
  var serial = 0;

  // --- Helpers shared with chat.js ----------------------------------------------------

  function problem(answer) {
    if (answer.data && answer.data.message) return answer.data.message;
    if (answer.status === 0) return "No connection. Check the network and try again.";
    return "Something went wrong (HTTP " + answer.status + ").";
  }

  function pageLabel(pages) {
    if (!pages || !pages.length) return "";
    var first = pages[0];
    var last = pages[pages.length - 1];
    return first === last ? "p.\u00a0" + first : "pp.\u00a0" + first + "\u2013" + last;
  }

  function seconds(ms) {
    if (ms === null || ms === undefined) return "";
    if (ms < 10) return "<\u00a00.01\u00a0s";
    var s = ms / 1000;
    return (s < 10 ? s.toFixed(2) : s.toFixed(1)) + "\u00a0s";
  }

  /** Append the snippet's text to ``target`` keeping only its <mark> elements. */
  function appendSnippet(target, html) {
    var body = new DOMParser().parseFromString("<body>" + (html || ""), "text/html").body;
    (function copy(from, to) {
      Array.prototype.forEach.call(from.childNodes, function (node) {
        if (node.nodeType === 3) {
          to.append(node.nodeValue);
        } else if (node.nodeType === 1) {
          var into = to;
          if (node.tagName === "MARK") {
            into = document.createElement("mark");
            to.append(into);
          }
          copy(node, into);
        }
      });
    })(body, target);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        return legacyCopy(text);
      });
    }
    return legacyCopy(text);
  }

  function legacyCopy(text) {
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.append(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      area.remove();
      if (ok) resolve();
      else reject(new Error("copy refused"));
    });
  }

  // --- The page viewer -------------------------------------------------------------------

  var viewer = document.getElementById("page-dialog");
  var viewerImage = document.getElementById("page-dialog-image");
  var viewerBody = document.getElementById("page-dialog-body");
  var viewerZoom = document.getElementById("page-dialog-zoom");
  var viewerMissing = document.getElementById("page-dialog-missing");

  function setZoom(on) {
    viewer.classList.toggle("is-zoomed", on);
    viewerZoom.setAttribute("aria-pressed", String(on));
    viewerZoom.setAttribute("aria-label", on ? "Fit to screen" : "Zoom in");
    viewerZoom.querySelector("use").setAttribute("href", on ? "#i-zoom-out" : "#i-zoom-in");
  }

  function openPage(citation) {
    document.getElementById("page-dialog-title").textContent = citation.title;
    var meta = [pageLabel(citation.pages), citation.heading].filter(Boolean).join(" \u00b7 ");
    document.getElementById("page-dialog-meta").textContent = meta;
    var where = pageLabel(citation.pages).replace("\u00a0", " ");
    viewerImage.alt = "Page " + where.replace(/^pp?\. /, "") + " of " + citation.title +
      ", the cited passage highlighted";
    viewerMissing.hidden = true;
    viewerImage.hidden = false;
    setZoom(false);
    viewerImage.src = citation.image_url;
    if (!viewer.open) viewer.showModal();
    viewerBody.scrollTo(0, 0);
    document.getElementById("page-dialog-close").focus();
  }

  viewerImage.addEventListener("error", function () {
    viewerImage.hidden = true;
    viewerMissing.hidden = false;
  });
  viewerImage.addEventListener("click", function () {
    setZoom(!viewer.classList.contains("is-zoomed"));
  });
  viewerZoom.addEventListener("click", function () {
    setZoom(!viewer.classList.contains("is-zoomed"));
  });
  document.getElementById("page-dialog-close").addEventListener("click", function () {
    viewer.close();
  });
  viewer.addEventListener("click", function (event) {
    if (event.target === viewer || event.target === viewerBody) viewer.close();
  });

  // --- Questions ---------------------------------------------------------------------------

  function question(text) {
    var item = questionTemplate.content.firstElementChild.cloneNode(true);
    item.querySelector(".bubble").textContent = text;
    return item;
  }

  // --- Answers -------------------------------------------------------------------------------

  /**
   * An answer element. ``options.onRetry()`` is called by its "Try again" button.
   * States (data-state): waiting, streaming, done, interrupted, failed.
   */
  function Answer(options) {
    this.options = options || {};
    this.el = answerTemplate.content.firstElementChild.cloneNode(true);
    this.article = this.el.querySelector(".answer");
    this.textEl = this.el.querySelector(".answer-text");
    this.typing = this.el.querySelector(".answer-typing-label");
    this.id = null;
    this.text = "";
    this.citations = [];
    this.feedback = null;
    this.frame = null;
    serial += 1;
    this.serial = serial;
    var label = this.el.querySelector(".reason-label");
    var input = this.el.querySelector(".reason-input");
    input.id = "reason-" + serial;
    label.htmlFor = input.id;
    this.el.querySelector(".citation-list").id = "sources-" + serial;
    this.setState("waiting");
    this.bind();
  }

  Answer.prototype.setState = function (state) {
    this.state = state;
    this.article.dataset.state = state;
    this.article.setAttribute("aria-busy", String(state === "waiting" || state === "streaming"));
    var labels = {
      waiting: "Looking in the manuals\u2026",
      streaming: "Answering\u2026",
      interrupted: "Paused: the rest of the answer shows when the connection is back\u2026",
    };
    this.typing.textContent = labels[state] || "";
  };

  Answer.prototype.start = function (messageId) {
    this.id = messageId;
    this.el.dataset.id = messageId;
  };

  Answer.prototype.token = function (text) {
    if (this.state === "waiting") this.setState("streaming");
    this.text += text;
    this.schedule();
  };

  Answer.prototype.schedule = function () {
    var self = this;
    if (this.frame !== null) return;
    this.frame = window.requestAnimationFrame(function () {
      self.frame = null;
      self.render();
    });
  };

  Answer.prototype.render = function () {
    this.textEl.innerHTML = md.render(this.text);
    if (this.state === "streaming" || this.state === "interrupted") {
      var last = this.textEl.lastElementChild;
      while (last && last.lastElementChild && /^(OL|UL|LI|DIV)$/.test(last.lastElementChild.tagName)) {
        last = last.lastElementChild;
      }
      var caret = document.createElement("span");
      caret.className = "caret";
      caret.setAttribute("aria-hidden", "true");
      (last || this.textEl).append(caret);
    }
    this.markChips();
    if (this.options.onRender) this.options.onRender(this);
  };

  Answer.prototype.markChips = function () {
    var self = this;
    var listId = this.el.querySelector(".citation-list").id;
    Array.prototype.forEach.call(this.textEl.querySelectorAll(".cite-chip"), function (chip) {
      var citation = self.citation(Number(chip.dataset.cite));
      chip.classList.toggle("is-known", Boolean(citation));
      if (citation) {
        chip.setAttribute("aria-controls", listId);
        chip.setAttribute("aria-label", "Source " + citation.rank + ": " + citation.title + ", " +
          pageLabel(citation.pages).replace("\u00a0", " "));
      }
    });
  };

  Answer.prototype.citation = function (rank) {
    return this.citations.filter(function (c) {
      return c.rank === rank;
    })[0];
  };

  Answer.prototype.setCitations = function (citations) {
    var self = this;
    this.citations = (citations || []).slice().sort(function (a, b) {
      return a.rank - b.rank;
    });
    var list = this.el.querySelector(".citation-list");
    list.replaceChildren();
    this.citations.forEach(function (citation) {
      list.append(self.citationCard(citation));
    });
    this.el.querySelector(".citations").hidden = this.citations.length === 0;
    this.markChips();
  };

  Answer.prototype.citationCard = function (citation) {
    var item = citationTemplate.content.firstElementChild.cloneNode(true);
    item.dataset.rank = citation.rank;
    var card = item.querySelector(".citation-card");
    var where = pageLabel(citation.pages);
    item.querySelector(".citation-rank").textContent = citation.rank;
    item.querySelector(".citation-title").textContent = citation.title;
    item.querySelector(".citation-pages").textContent = where;
    var heading = item.querySelector(".citation-heading");
    heading.textContent = citation.heading || "";
    heading.hidden = !citation.heading;
    appendSnippet(item.querySelector(".citation-snippet"), citation.snippet);
    var image = item.querySelector("img");
    if (citation.thumbnail_url) {
      image.src = citation.thumbnail_url;
      image.addEventListener("error", function () {
        item.classList.add("no-thumb");
      });
    } else {
      item.classList.add("no-thumb");
    }
    if (citation.image_url) {
      card.setAttribute("aria-label", "Source " + citation.rank + ": " + citation.title + ", " +
        where.replace("\u00a0", " ") + ". Open the page");
    } else {
      card.disabled = true; // the document was deleted since
      card.title = "This document is no longer in the library";
    }
    return item;
  };

  Answer.prototype.openCitation = function (rank) {
    var citation = this.citation(rank);
    var item = this.el.querySelector('.citation[data-rank="' + rank + '"]');
    if (citation && citation.image_url) {
      openPage(citation);
    } else if (item) {
      item.scrollIntoView({ block: "center", behavior: "smooth" });
    }
    if (item) {
      item.classList.remove("is-flashing");
      void item.offsetWidth; // restart the animation
      item.classList.add("is-flashing");
    }
  };

  /** The answer is complete: ``done`` is the websocket's done event (or the same
   * fields from the API). */
  Answer.prototype.finish = function (done) {
    if (done.message) this.start(done.message);
    var declined = Boolean(done.declined);
    this.setState("done");
    this.article.classList.toggle("is-declined", declined);
    if (declined) {
      this.el.querySelector(".answer-note-text").textContent = this.text.trim() || DECLINE;
      this.el.querySelector(".answer-note").hidden = false;
      this.textEl.hidden = true;
      this.article.setAttribute("aria-label", "No answer in the manuals");
    }
    this.render();
    var total = done.timings && done.timings.total_ms;
    var time = this.el.querySelector(".answer-time");
    time.textContent = seconds(total);
    time.title = total === null || total === undefined ? "" : "Answered in " + seconds(total).replace("\u00a0", " ");
    this.el.querySelector(".answer-foot").hidden = false;
  };

  Answer.prototype.fail = function (message) {
    this.setState("failed");
    this.render();
    this.textEl.hidden = !this.text.trim();
    this.el.querySelector(".answer-error-text").textContent = message || FAILED;
    this.el.querySelector(".answer-error").hidden = false;
    this.el.querySelector(".answer-retry").hidden = !this.options.onRetry;
  };

  Answer.prototype.interrupt = function () {
    if (this.state === "waiting" || this.state === "streaming") {
      this.setState("interrupted");
      this.render();
    }
  };

  /** Show a stored message (from the API): finished, failed or still being written. */
  Answer.prototype.show = function (message) {
    this.start(message.id);
    this.text = message.text || "";
    if (message.status === "done") {
      this.setCitations(message.citations);
      this.finish({ declined: message.declined, timings: message.timings });
      this.setFeedback(message.feedback);
    } else if (message.status === "failed") {
      this.fail(FAILED);
    } else {
      this.setState(this.text ? "streaming" : "waiting"); // still being written
      this.render();
    }
  };

  // --- Feedback and copy ------------------------------------------------------------------

  Answer.prototype.setFeedback = function (feedback) {
    this.feedback = feedback || null;
    var rating = feedback ? feedback.rating : null;
    Array.prototype.forEach.call(this.el.querySelectorAll(".rate-button"), function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.rating === rating));
    });
  };

  Answer.prototype.say = function (text) {
    var status = this.el.querySelector(".answer-status");
    status.textContent = text;
    window.clearTimeout(this.sayTimer);
    this.sayTimer = window.setTimeout(function () {
      status.textContent = "";
    }, 4000);
  };

  Answer.prototype.sendFeedback = function (rating, reason) {
    var self = this;
    var before = this.feedback;
    this.setFeedback({ rating: rating, reason: reason || "" });
    var body = { rating: rating };
    if (reason) body.reason = reason;
    return request("POST", config.messagesApi + "/" + this.id + "/feedback", body).then(function (answer) {
      if (answer.status === 200) {
        self.say(reason || rating === "up" ? "Thanks for the feedback." : "Thanks, noted.");
        return true;
      }
      self.setFeedback(before);
      self.say("Not saved: " + problem(answer));
      return false;
    });
  };

  Answer.prototype.rate = function (rating) {
    var form = this.el.querySelector(".reason");
    if (this.feedback && this.feedback.rating === rating) {
      if (rating === "down") form.hidden = !form.hidden;
      return;
    }
    this.sendFeedback(rating);
    form.hidden = rating !== "down";
    if (rating === "down") {
      form.querySelector("textarea").focus({ preventScroll: true });
      form.scrollIntoView({ block: "nearest" });
    }
  };

  Answer.prototype.copy = function () {
    var self = this;
    var text = md.plain(this.text);
    if (this.citations.length) {
      text += "\n\nSources:\n" + this.citations.map(function (c) {
        return "[" + c.rank + "] " + c.title + ", " + pageLabel(c.pages).replace("\u00a0", " ");
      }).join("\n");
    }
    var button = this.el.querySelector(".copy-button");
    copyText(text).then(
      function () {
        button.classList.add("is-done");
        button.querySelector("use").setAttribute("href", "#i-check");
        self.say("Copied.");
        window.setTimeout(function () {
          button.classList.remove("is-done");
          button.querySelector("use").setAttribute("href", "#i-copy");
        }, 2000);
      },
      function () {
        self.say("Could not copy. Select the text instead.");
      }
    );
  };

  Answer.prototype.bind = function () {
    var self = this;
    this.el.addEventListener("click", function (event) {
      var chip = event.target.closest(".cite-chip");
      if (chip) {
        self.openCitation(Number(chip.dataset.cite));
        return;
      }
      var button = event.target.closest("[data-action]");
      if (!button || button.disabled) return;
      var action = button.dataset.action;
      if (action === "open-page") {
        openPage(self.citation(Number(button.closest(".citation").dataset.rank)));
      } else if (action === "rate") {
        self.rate(button.dataset.rating);
      } else if (action === "copy") {
        self.copy();
      } else if (action === "retry" && self.options.onRetry) {
        self.options.onRetry(self);
      } else if (action === "skip-reason") {
        self.el.querySelector(".reason").hidden = true;
      }
    });
    var form = this.el.querySelector(".reason");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var reason = form.querySelector("textarea").value.trim();
      if (!reason) {
        form.hidden = true;
        return;
      }
      self.sendFeedback("down", reason).then(function (saved) {
        if (saved) form.hidden = true;
      });
    });
  };

  ns.request = request;
  ns.problem = problem;
  ns.Answer = Answer;
  ns.question = question;
  ns.pageLabel = pageLabel;
  ns.config = config;
})();

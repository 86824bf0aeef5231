// Live updates (issue 9, "Live"): the step screens poll for other people's changes (#live-updates, steps/live.py).
// Here: skip fragments that are not newer than what the screen shows, keep a panel the user is typing in, mark and
// age "changed by", poll at once when the tab comes back, and reload the screen's content when the server asks.
(function () {
  "use strict";

  var MINUTE = 60 * 1000;
  var MARK_LIFETIME = 10 * MINUTE; // then the mark goes: the change is no longer news
  var applyingLive = false; // true while the answer to a poll is swapped (synchronously, htmx's default)

  function version(element) {
    var value = element && element.getAttribute("data-version");
    return value === null || value === undefined ? null : parseInt(value, 10);
  }

  function isPoller(element) {
    return element && element.id === "live-updates";
  }

  // The open panel's step goes with each poll, so that the answer brings the panel too when that step changed.
  document.addEventListener("htmx:configRequest", function (event) {
    if (!isPoller(event.detail.elt)) return;
    var panel = document.querySelector("#side-panel #step-panel[data-step]");
    if (panel) event.detail.parameters.panel = panel.getAttribute("data-step");
  });

  // A large matrix loads a cluster's table when scrolled near it (steps/views/matrix.py): a change to a cell or a
  // customer's progress in a table not loaded yet has nothing to update on the page, and is left out.
  function withoutMissingTargets(html) {
    var answer = document.createElement("template");
    answer.innerHTML = html;
    answer.content.querySelectorAll("[hx-swap-oob][id]").forEach(function (fragment) {
      if (!document.getElementById(fragment.id)) fragment.remove();
    });
    return answer.innerHTML;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!isPoller(event.detail.elt)) return;
    if (document.querySelector(".matrix-later") && event.detail.serverResponse) {
      event.detail.serverResponse = withoutMissingTargets(event.detail.serverResponse);
    }
    applyingLive = true;
    setTimeout(function () { applyingLive = false; stampMarks(); }, 0);
  });

  // A field of the panel the user changed and has not sent: swapping the panel would lose it.
  function typedIn(panel) {
    return Array.prototype.some.call(panel.querySelectorAll("textarea, input:not([type=hidden])"), function (field) {
      return field.value !== field.defaultValue;
    });
  }

  function offerNewVersion(sidePanel, fragment) {
    var shown = sidePanel.querySelector("#step-panel");
    var notice = shown.querySelector(".live-panel-notice");
    if (!notice) {
      notice = document.createElement("div");
      notice.className = "warning-box live-panel-notice";
      notice.setAttribute("role", "status");
      var text = document.createElement("span");
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = "Show the new version";
      notice.append(text, " ", button);
      shown.insertBefore(notice, shown.children[1] || null);
    }
    var note = fragment.querySelector(".live-note");
    notice.firstChild.textContent = (note ? note.textContent.trim() : "This step changed") + ": what you typed is not saved.";
    notice.querySelector("button").onclick = function () {
      sidePanel.replaceChildren(fragment);
      htmx.process(sidePanel);
      stampMarks();
    };
  }

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    if (!applyingLive) return;
    var target = event.detail.target;
    var fragment = event.detail.fragment;
    if (target.id === "side-panel") {
      var shown = target.querySelector("#step-panel");
      var incoming = fragment.querySelector("#step-panel");
      // The user opened another step, or the panel already shows this version (their own action's answer).
      if (!shown || !incoming || shown.getAttribute("data-step") !== incoming.getAttribute("data-step") ||
          version(incoming) <= version(shown)) {
        event.detail.shouldSwap = false;
      } else if (typedIn(shown)) {
        event.detail.shouldSwap = false;
        offerNewVersion(target, fragment);
      }
      return;
    }
    var element = fragment.firstElementChild;
    if (element && version(element) !== null && version(target) !== null && version(element) <= version(target)) {
      event.detail.shouldSwap = false; // the screen already shows this version of the step, or a newer one
    } else if (element && target.hasAttribute("tabindex")) {
      element.setAttribute("tabindex", target.getAttribute("tabindex")); // keep the matrix's roving tab stop
    }
  });

  // "Changed by ana just now" ages: "1 min ago", "4 min ago", then goes.
  function describe(name, age) {
    var minutes = Math.floor(age / MINUTE);
    return "Changed by " + name + (minutes < 1 ? " just now" : minutes === 1 ? " 1 min ago" : " " + minutes + " min ago");
  }

  // New marks: flash their cell or row once, and say in the status region whose changes arrived.
  function stampMarks() {
    var said = [];
    var names = [];
    document.querySelectorAll("[data-live-mark]:not([data-live-at])").forEach(function (mark) {
      mark.setAttribute("data-live-at", String(Date.now()));
      if (mark.closest(".live-note")) return; // the panel repeats its cell's news
      said.push(mark.getAttribute("data-live-says"));
      var name = mark.getAttribute("data-changed-by");
      if (names.indexOf(name) === -1) names.push(name);
      var changed = mark.closest("button, li");
      if (changed) {
        changed.classList.remove("live-flash");
        void changed.offsetWidth; // restart the animation when the same element changes again
        changed.classList.add("live-flash");
      }
    });
    var status = document.getElementById("live-status");
    if (status && said.length) {
      status.textContent = said.length === 1 ? said[0] : said.length + " steps changed by " + names.join(", ") + ".";
    }
  }

  function ageMarks() {
    var now = Date.now();
    document.querySelectorAll("[data-live-mark][data-live-at]").forEach(function (mark) {
      var age = now - parseInt(mark.getAttribute("data-live-at"), 10);
      if (age > MARK_LIFETIME) {
        var note = mark.closest(".live-note");
        (note || mark).remove();
        return;
      }
      var text = describe(mark.getAttribute("data-changed-by"), age);
      mark.title = text;
      var hidden = mark.querySelector(".live-mark-text");
      if (hidden) hidden.textContent = text;
      mark.classList.toggle("live-mark-old", age >= MINUTE);
    });
  }

  setInterval(ageMarks, 15 * 1000);

  // Steps added or removed, or too many changes: the screen reloads its content (the side panel stays).
  document.addEventListener("rollcall:live-reload", function () {
    htmx.ajax("GET", window.location.pathname + window.location.search, { target: "main", select: "main", swap: "outerHTML" });
  });

  // No poll runs while the tab is hidden (a timed poll comes without a triggering event; an hx-trigger filter would
  // need eval, which the Content-Security-Policy forbids); coming back asks at once.
  document.addEventListener("htmx:confirm", function (event) {
    if (isPoller(event.detail.elt) && !event.detail.triggeringEvent && document.visibilityState !== "visible") {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    var poller = document.getElementById("live-updates");
    if (poller && document.visibilityState === "visible") htmx.trigger(poller, "rollcall:live-poll");
  });
})();

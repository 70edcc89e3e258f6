/*
 * undertone review page: playback that follows the transcript, mark toggles, search, keyboard
 * shortcuts and citations.
 *
 * The page works opened from disk with no network: everything it needs is in the page. The
 * transcript is the HTML (lines .line with data-n/data-start/data-end; words and pauses .t with
 * data-start/data-end, in seconds); #undertone-data holds the JSON this script needs besides
 * (the citation label, the lines' text for extracts, the speakers).
 *
 * Keep this file plain ASCII: it is inlined into pages whatever their encoding.
 */
(function () {
  "use strict";

  var SEEK_S = 5; // arrow keys seek this far
  var LINE_MARGIN_PX = 24; // a current line this close to the edge of the view is scrolled to

  var data = JSON.parse(document.getElementById("undertone-data").textContent);
  var audio = document.getElementById("player");
  var main = document.getElementById("transcript");
  var controls = document.getElementById("controls");
  var notices = document.getElementById("notices");
  var search = document.getElementById("search");
  var searchCount = document.getElementById("search-count");
  var panel = document.getElementById("cite-panel");
  var citationEl = document.getElementById("citation");
  var spanEl = document.getElementById("cite-span");
  var extractEl = document.getElementById("extract");

  function seconds(value) {
    return value === undefined || value === "" ? NaN : Number(value);
  }

  // ---- the transcript, as arrays sorted by time ----------------------------------------

  var lines = Array.prototype.map.call(main.querySelectorAll(".line"), function (el, index) {
    return {el: el, index: index, n: Number(el.dataset.n), start: seconds(el.dataset.start), end: seconds(el.dataset.end)};
  });
  var lineByN = {};
  lines.forEach(function (line) { lineByN[line.n] = line; });
  var textByN = {};
  data.lines.forEach(function (line) { textByN[line.n] = line; });
  var timedLines = lines.filter(function (l) { return isFinite(l.start); })
    .sort(function (a, b) { return a.start - b.start || a.n - b.n; });
  var timed = Array.prototype.map.call(main.querySelectorAll(".t"), function (el) {
    return {el: el, start: seconds(el.dataset.start), end: seconds(el.dataset.end)};
  }).sort(function (a, b) { return a.start - b.start; });

  /* Index of the last item whose start is at or before t (-1 if none). */
  function lastStartingBy(items, t) {
    var low = 0, high = items.length;
    while (low < high) {
      var mid = (low + high) >> 1;
      if (items[mid].start <= t) { low = mid + 1; } else { high = mid; }
    }
    return low - 1;
  }

  /* The line being spoken at t: one whose span holds t (the latest), else the last one begun. */
  function lineAt(t) {
    var i = lastStartingBy(timedLines, t);
    for (var j = i; j >= 0 && j > i - 4; j--) {
      if (timedLines[j].end > t) { return timedLines[j]; }
    }
    return i >= 0 ? timedLines[i] : null;
  }

  // ---- following playback --------------------------------------------------------------

  var nowEls = [];
  var current = null; // the current line
  var pinned = null; // a line the user chose: current until playback leaves it
  var stopAt = null; // end of a played extract
  var frame = 0;

  function highlightWords(t) {
    var active = [];
    var i = lastStartingBy(timed, t);
    for (var j = i; j >= 0 && j > i - 8; j--) {
      if (timed[j].end > t) { active.push(timed[j].el); }
    }
    nowEls.forEach(function (el) { if (active.indexOf(el) < 0) { el.classList.remove("now"); } });
    active.forEach(function (el) { el.classList.add("now"); });
    nowEls = active;
  }

  function visibleTop() {
    return controls.getBoundingClientRect().bottom;
  }

  function visibleBottom() {
    return panel.hidden ? window.innerHeight : panel.getBoundingClientRect().top;
  }

  function inView(el) {
    var box = el.getBoundingClientRect();
    return box.top >= visibleTop() + LINE_MARGIN_PX && box.bottom <= visibleBottom() - LINE_MARGIN_PX;
  }

  function scrollToLine(el) {
    var box = el.getBoundingClientRect();
    var middle = (visibleTop() + visibleBottom()) / 2;
    window.scrollBy({top: box.top + box.height / 2 - middle, behavior: "smooth"});
  }

  function setCurrent(line, follow) {
    if (line === current) { return; }
    if (current) { current.el.classList.remove("current"); }
    current = line;
    if (line) {
      line.el.classList.add("current");
      if (follow && !inView(line.el)) { scrollToLine(line.el); }
    }
  }

  function movePlayheads(t) {
    var turn = current ? current.el.closest(".turn") : null;
    document.querySelectorAll("svg.contour.playing").forEach(function (svg) {
      if (!turn || svg.parentNode !== turn) { svg.classList.remove("playing"); }
    });
    if (!turn) { return; }
    var svg = turn.querySelector("svg.contour");
    if (!svg) { return; }
    var x = (t - seconds(turn.dataset.start)) * 100; // the contour's x unit is 10 ms
    var head = svg.querySelector(".playhead");
    head.setAttribute("x1", x.toFixed(0));
    head.setAttribute("x2", x.toFixed(0));
    svg.classList.add("playing");
  }

  function update() {
    var t = audio.currentTime;
    if (stopAt !== null && t >= stopAt) {
      stopAt = null;
      audio.pause();
    }
    highlightWords(t);
    var line;
    if (pinned && t >= pinned.start - 0.05 && t < pinned.end) {
      line = pinned;
    } else {
      pinned = null;
      line = lineAt(t);
    }
    setCurrent(line, !audio.paused);
    movePlayheads(t);
  }

  function tick() {
    update();
    frame = audio.paused ? 0 : window.requestAnimationFrame(tick);
  }

  audio.addEventListener("play", function () {
    window.cancelAnimationFrame(frame);
    frame = window.requestAnimationFrame(tick);
  });
  audio.addEventListener("timeupdate", update);
  audio.addEventListener("seeked", update);
  audio.addEventListener("pause", update);

  function play() {
    var started = audio.play();
    if (started && started.catch) { started.catch(function () { /* no recording, or not allowed yet */ }); }
  }

  function playFrom(t, line, until) {
    if (!isFinite(t)) { return; }
    audio.currentTime = Math.max(0, t);
    pinned = line || null;
    stopAt = until === undefined ? null : until;
    setCurrent(line || lineAt(t), false);
    highlightWords(t);
    if (audio.getAttribute("src")) { play(); }
  }

  function seekBy(delta) {
    var end = isFinite(audio.duration) ? audio.duration : data.duration;
    pinned = null;
    audio.currentTime = Math.min(Math.max(0, audio.currentTime + delta), end);
    update();
  }

  function stepLine(direction) {
    var from = current ? current.index : (direction > 0 ? -1 : lines.length);
    for (var i = from + direction; i >= 0 && i < lines.length; i += direction) {
      if (isFinite(lines[i].start)) {
        var wasPlaying = !audio.paused;
        audio.currentTime = lines[i].start;
        pinned = lines[i];
        setCurrent(lines[i], false);
        if (!inView(lines[i].el)) { scrollToLine(lines[i].el); }
        highlightWords(lines[i].start);
        if (wasPlaying) { play(); }
        return;
      }
    }
  }

  // ---- the recording: present or not ---------------------------------------------------

  function notice(html, id) {
    if (id && document.getElementById(id)) { return; }
    var p = document.createElement("p");
    p.className = "notice";
    if (id) { p.id = id; }
    p.innerHTML = html;
    notices.appendChild(p);
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"]/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"}[c];
    });
  }

  audio.addEventListener("error", function () {
    var where = data.media === "embedded" ? "the copy embedded in this page" : escapeHtml(decodeURI(data.media || ""));
    notice("The recording could not be played from <code>" + where + "</code>. " +
      "The transcript, search and citations still work. To listen, put the recording there " +
      "(the link is relative to this page) or make the page with <code>embed_audio = true</code>.", "audio-missing");
  });
  audio.addEventListener("loadedmetadata", function () {
    // The recording is here after all (e.g. copied in after the page was made).
    Array.prototype.forEach.call(notices.querySelectorAll("[data-static]"), function (p) { p.remove(); });
  });

  // ---- clicking lines and line numbers -------------------------------------------------

  function hasTextSelection() {
    var selection = window.getSelection();
    return selection && !selection.isCollapsed && selection.toString().trim() !== "";
  }

  var anchor = null; // first line clicked for a range

  main.addEventListener("mousedown", function (event) {
    if (event.shiftKey && event.target.closest(".n")) { event.preventDefault(); } // no text selection
  });

  main.addEventListener("click", function (event) {
    var contour = event.target.closest("svg.contour");
    if (contour) { // play from the moment under the pointer
      var box = contour.getBoundingClientRect();
      var turn = contour.parentNode;
      var start = seconds(turn.dataset.start), end = seconds(turn.dataset.end);
      playFrom(start + (event.clientX - box.left) / box.width * (end - start));
      return;
    }
    var lineEl = event.target.closest(".line");
    if (!lineEl) { return; }
    var line = lineByN[Number(lineEl.dataset.n)];
    if (event.target.closest(".n")) {
      if (event.shiftKey && anchor !== null) {
        cite(Math.min(anchor, line.n), Math.max(anchor, line.n));
      } else {
        anchor = line.n;
        cite(line.n, line.n);
      }
      return;
    }
    if (hasTextSelection()) { return; } // the end of selecting text, not a click
    var word = event.altKey ? event.target.closest(".t") : null;
    playFrom(word ? seconds(word.dataset.start) : line.start, line);
  });

  // ---- citations -----------------------------------------------------------------------

  var cited = null; // [first, last]

  function pad2(value) {
    return (value < 10 ? "0" : "") + value;
  }

  /* hh:mm:ss.t, rounded down (or up) to a tenth of a second, as `undertone cite` prints it. */
  function clock(t, up) {
    var tenths = up ? Math.ceil(t * 10 - 1e-6) : Math.floor(t * 10 + 1e-6);
    tenths = Math.max(tenths, 0);
    var hours = Math.floor(tenths / 36000);
    var minutes = Math.floor(tenths % 36000 / 600);
    var rest = tenths % 600;
    return pad2(hours) + ":" + pad2(minutes) + ":" + pad2(Math.floor(rest / 10)) + "." + (rest % 10);
  }

  /* A corrected version's citation names its version (its line numbers are its own). */
  function citationText(first, last) {
    var numbers = first === last ? "Line " + first : "Lines " + first + data.dash + last;
    return "(" + data.label + ", " + numbers + (data.version ? ", version " + data.version : "") + ")";
  }

  /* The lines as numbered in the .txt: the number right-aligned in five columns, two spaces. */
  function extractText(first, last) {
    var rows = [];
    for (var n = first; n <= last; n++) {
      if (textByN[n]) { rows.push(("     " + n).slice(-Math.max(5, String(n).length)) + "  " + textByN[n].text); }
    }
    return rows.map(function (row) { return row.replace(/\s+$/, ""); }).join("\n");
  }

  function span(first, last) {
    var start = Infinity, end = -Infinity;
    for (var n = first; n <= last; n++) {
      var line = textByN[n];
      if (line && line.start !== null) { start = Math.min(start, line.start); }
      if (line && line.end !== null) { end = Math.max(end, line.end); }
    }
    return isFinite(start) && isFinite(end) ? {start: start, end: end} : null;
  }

  function cite(first, last) {
    if (cited && cited[0] === first && cited[1] === last) { return; }
    clearCitedLines();
    cited = [first, last];
    for (var n = first; n <= last; n++) {
      if (lineByN[n]) { lineByN[n].el.classList.add("cited"); }
    }
    citationEl.textContent = citationText(first, last);
    var times = span(first, last);
    spanEl.textContent = times ? "[" + clock(times.start) + data.dash + clock(times.end, true) + "]" : "";
    extractEl.textContent = extractText(first, last);
    panel.hidden = false;
    document.body.classList.add("citing");
    try {
      window.history.replaceState(null, "", "#L" + first + (last > first ? "-" + last : ""));
    } catch (error) { /* some browsers refuse on file: pages */ }
  }

  function clearCitedLines() {
    Array.prototype.forEach.call(main.querySelectorAll(".line.cited"), function (el) { el.classList.remove("cited"); });
  }

  function clearCitation() {
    clearCitedLines();
    cited = null;
    anchor = null;
    panel.hidden = true;
    document.body.classList.remove("citing");
    try {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    } catch (error) { /* as above */ }
  }

  /* Whether (node, offset) is at the start of the line's text (only its number before it). */
  function atLineStart(lineEl, node, offset) {
    var before = document.createRange();
    before.setStart(lineEl, 0);
    before.setEnd(node, offset);
    var text = before.toString().trim();
    return text === "" || text === lineEl.querySelector(".n").textContent;
  }

  /* The line a selection starts or ends in; an end at the very start of a line (as a triple
     click makes) belongs to the line before. */
  function lineElAtBoundary(node, offset, isEnd) {
    var el = node.nodeType === 1 ? node : node.parentElement;
    var lineEl = el ? el.closest(".line") : null;
    if (!lineEl && node.nodeType === 1) { // between lines: the child node next to the boundary
      var child = node.childNodes[isEnd ? offset - 1 : offset];
      if (child && child.nodeType === 1) {
        lineEl = child.matches(".line") ? child : child.querySelector(isEnd ? ".line:last-of-type" : ".line");
      }
      return lineEl;
    }
    if (lineEl && isEnd && atLineStart(lineEl, node, offset)) {
      var line = lineByN[Number(lineEl.dataset.n)];
      var previous = line ? lines[line.index - 1] : null;
      if (previous) { return previous.el; }
    }
    return lineEl;
  }

  var selectionTimer = 0;
  document.addEventListener("selectionchange", function () {
    window.clearTimeout(selectionTimer);
    selectionTimer = window.setTimeout(function () {
      var selection = window.getSelection();
      if (!selection || selection.isCollapsed || selection.rangeCount === 0 || !hasTextSelection()) { return; }
      var range = selection.getRangeAt(0);
      if (!main.contains(range.commonAncestorContainer)) { return; }
      var first = lineElAtBoundary(range.startContainer, range.startOffset, false);
      var last = lineElAtBoundary(range.endContainer, range.endOffset, true);
      if (!first || !last) { return; }
      var a = Number(first.dataset.n), b = Number(last.dataset.n);
      cite(Math.min(a, b), Math.max(a, b));
    }, 120);
  });

  function flash(button, text) {
    var label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    button.textContent = text;
    window.setTimeout(function () { button.textContent = label; }, 1400);
  }

  function copyWithTextarea(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    area.remove();
    return copied;
  }

  function copy(text, button) {
    var done = function () { flash(button, "Copied"); };
    var fallback = function () { flash(button, copyWithTextarea(text) ? "Copied" : "Select and copy by hand"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  document.getElementById("copy-citation").addEventListener("click", function (event) {
    copy(citationEl.textContent, event.currentTarget);
  });
  document.getElementById("copy-extract").addEventListener("click", function (event) {
    copy(extractEl.textContent + "\n\n" + citationEl.textContent, event.currentTarget);
  });
  document.getElementById("cite-play").addEventListener("click", function () {
    if (!cited) { return; }
    var times = span(cited[0], cited[1]);
    if (times) { playFrom(times.start, lineByN[cited[0]], times.end); }
  });
  document.getElementById("cite-clear").addEventListener("click", clearCitation);

  // ---- mark toggles --------------------------------------------------------------------

  function showMarks(group, on) {
    document.body.classList.toggle("hide-" + group, !on);
    if (group === "loudness") { // LOUD words are printed in capitals: show them as spoken
      Array.prototype.forEach.call(main.querySelectorAll(".lc"), function (el) {
        if (el.dataset.loud === undefined) { el.dataset.loud = el.textContent; }
        el.textContent = on ? el.dataset.loud : el.dataset.plain;
      });
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("#marks input[type=checkbox]"), function (box) {
    box.addEventListener("change", function () { showMarks(box.dataset.group, box.checked); });
    if (!box.checked) { showMarks(box.dataset.group, false); } // the browser restored an unticked box
  });

  // Buttons and boxes used with the mouse give the keyboard back to the shortcuts.
  document.addEventListener("click", function (event) {
    var control = event.target.closest ? event.target.closest("button, input[type=checkbox], label") : null;
    if (control && event.detail > 0) {
      window.setTimeout(function () { if (document.activeElement && document.activeElement !== search) { document.activeElement.blur(); } }, 0);
    }
  });

  // ---- search --------------------------------------------------------------------------

  /* Lower case, without the notation's marks, so "lunch" finds "lu::nch" and "really" "REALLY". */
  function bare(text) {
    return text.toLowerCase()
      .replace(/\((?:\.|\d+\.\d)\)/g, " ")
      .replace(/[\[\]=\u00b0<>\u2191\u2193?,.:_^]/g, "")
      .replace(/\s+/g, " ");
  }

  var searchable = lines.map(function (line) {
    var text = textByN[line.n] ? textByN[line.n].text : line.el.textContent;
    return {raw: text.toLowerCase(), bare: bare(text)};
  });
  var matches = [];
  var matchIndex = -1;

  function runSearch() {
    var query = search.value.trim().toLowerCase();
    var bareQuery = bare(query).trim();
    matches = [];
    matchIndex = -1;
    lines.forEach(function (line, i) {
      var hit = query !== "" && (searchable[i].raw.indexOf(query) >= 0 ||
        (bareQuery !== "" && searchable[i].bare.indexOf(bareQuery) >= 0));
      line.el.classList.toggle("match", hit);
      line.el.classList.remove("match-focus");
      if (hit) { matches.push(line); }
    });
    searchCount.textContent = query === "" ? "" :
      matches.length === 0 ? "no match" : matches.length + (matches.length === 1 ? " line" : " lines");
  }

  function nextMatch(direction) {
    if (matches.length === 0) { return; }
    if (matchIndex >= 0) { matches[matchIndex].el.classList.remove("match-focus"); }
    matchIndex = (matchIndex + direction + matches.length) % matches.length;
    var line = matches[matchIndex];
    line.el.classList.add("match-focus");
    scrollToLine(line.el);
    searchCount.textContent = (matchIndex + 1) + " of " + matches.length;
  }

  search.addEventListener("input", runSearch);
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      nextMatch(event.shiftKey ? -1 : 1);
    } else if (event.key === "Escape") {
      search.value = "";
      runSearch();
      search.blur();
    }
  });

  // ---- keyboard ------------------------------------------------------------------------

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    var tag = target.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable) { return; }
    if (tag === "INPUT" && target.type !== "checkbox") { return; }
    if (tag === "AUDIO") { return; } // its own controls have the keyboard
    if (event.key === " " && (tag === "BUTTON" || tag === "INPUT")) { return; }
    switch (event.key) {
      case " ":
        if (audio.paused) { play(); } else { audio.pause(); }
        break;
      case "ArrowLeft":
        if (event.shiftKey) { stepLine(-1); } else { seekBy(-SEEK_S); }
        break;
      case "ArrowRight":
        if (event.shiftKey) { stepLine(1); } else { seekBy(SEEK_S); }
        break;
      case "/":
        search.focus();
        search.select();
        break;
      case "Escape":
        clearCitation();
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  // ---- start ---------------------------------------------------------------------------

  var linked = /^#L(\d+)(?:-(\d+))?$/.exec(window.location.hash);
  if (linked && lineByN[Number(linked[1])]) {
    var first = Number(linked[1]);
    var last = linked[2] && lineByN[Number(linked[2])] ? Number(linked[2]) : first;
    cite(Math.min(first, last), Math.max(first, last));
    window.setTimeout(function () { scrollToLine(lineByN[first].el); }, 0);
  }
  document.body.dataset.ready = "1";
})();

/*
 * undertone review page, editing mode: only inlined when `undertone review` serves the page
 * (the page written by `undertone process` stays read-only and makes no request).
 *
 * Every edit is sent to the review server, which validates it and appends it to the
 * corrections journal; the page then shows it as pending (struck-through, changed or moved
 * words). "Save" asks the server to apply the journal: it writes the corrected version and the
 * page reloads showing it. Words are named by their stable ids (data-id), never by position.
 *
 * Keep this file plain ASCII: it is inlined into pages whatever their encoding.
 */
(function () {
  "use strict";

  var REPLAY_S = 3; // the R key replays this many seconds
  var SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 2];

  var data = JSON.parse(document.getElementById("undertone-data").textContent);
  var editing = data.editing;
  if (!editing) { return; }
  var audio = document.getElementById("player");
  var main = document.getElementById("transcript");
  var controls = document.getElementById("controls");
  var labels = {};
  var classes = {};
  data.speakers.forEach(function (s) { labels[s.id] = s.label; classes[s.id] = s["class"]; });
  var pending = 0;

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function option(select, value, text) {
    select.appendChild(el("option", {value: value}, text));
  }

  // ---- the toolbar ---------------------------------------------------------------------

  var bar = el("div", {"class": "edit-bar", id: "edit-bar"});
  var status = el("span", {id: "edit-status", "aria-live": "polite"});
  var filter = el("select", {id: "edit-filter", "aria-label": "Show"});
  option(filter, "all", "All lines");
  option(filter, "attention", "Lines to check (low confidence or likely hallucination)");
  option(filter, "low", "Low-confidence words");
  option(filter, "suspect", "Likely hallucinations (text over silence, loops)");
  var speed = el("select", {id: "speed", "aria-label": "Playback speed"});
  SPEEDS.forEach(function (s) { option(speed, String(s), s + "x"); });
  speed.value = "1";
  var checkedAll = el("input", {type: "checkbox", id: "checked-all"});
  checkedAll.checked = !!editing.checked;
  var renameWho = el("select", {id: "rename-speaker", "aria-label": "Speaker to rename"});
  data.speakers.forEach(function (s) { option(renameWho, s.id, s.id + " (" + s.label + ")"); });
  var renameTo = el("input", {type: "text", id: "rename-label", placeholder: "new label, e.g. P2", size: "10", maxlength: "40"});
  var renameButton = el("button", {type: "button", id: "rename"}, "Rename");
  var save = el("button", {type: "button", id: "save", title: "Apply the corrections: re-time, re-measure, re-render every format"}, "Save");
  var checkedLabel = el("label", {}, "");
  checkedLabel.appendChild(checkedAll);
  checkedLabel.appendChild(document.createTextNode(" transcript checked"));
  [el("strong", {}, "Edit"), filter, speed, renameWho, renameTo, renameButton, checkedLabel, save, status]
    .forEach(function (node) { bar.appendChild(node); });
  bar.appendChild(el("span", {"class": "edit-help"},
    "Click a word to correct it; R replays the last " + REPLAY_S + " s" +
    (editing.version ? "; showing corrected version " + editing.version : "; showing the machine version")));
  controls.appendChild(bar);

  function say(text, bad) {
    status.textContent = text;
    status.classList.toggle("bad", !!bad);
  }

  function showPending() {
    say(pending ? pending + " edit(s) not yet applied: Save to re-time and re-render" : "all edits applied");
  }

  // ---- talking to the server -----------------------------------------------------------

  function request(method, path, body) {
    var options = {method: method, credentials: "same-origin", headers: {}};
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(editing.api + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (!response.ok) { throw new Error(answer.error || ("the server answered " + response.status)); }
        return answer;
      });
    });
  }

  function send(edit) {
    return request("POST", "/edits", edit).then(function (stored) {
      show(stored);
      pending += 1;
      showPending();
      return stored;
    }, function (error) {
      say("not saved: " + error.message, true);
      throw error;
    });
  }

  // ---- showing edits that are not applied yet ------------------------------------------

  function wordEl(id) {
    return main.querySelector('.w[data-id="' + id + '"]');
  }

  function turnOf(node) {
    return node ? node.closest(".turn") : null;
  }

  function setTurnSpeaker(turn, speaker) {
    Object.keys(classes).forEach(function (id) { turn.classList.remove(classes[id]); });
    turn.classList.add(classes[speaker] || "s0");
    turn.dataset.speaker = speaker;
    var who = turn.querySelector(".who");
    if (who) { who.textContent = labels[speaker] + ":"; }
  }

  function show(edit) {
    var word;
    switch (edit.kind) {
      case "correct_word":
        word = wordEl(edit.word);
        if (word) {
          if (word.dataset.machine === undefined) { word.dataset.machine = word.textContent; }
          word.textContent = edit.text;
          word.classList.add("edited");
          word.title = "was: " + word.dataset.machine;
        }
        break;
      case "insert_words":
        word = edit.after ? wordEl(edit.after) : main.querySelector(".w");
        edit.texts.forEach(function (text, k) {
          var added = el("span", {"class": "w inserted", "data-id": "n" + edit.seq + "." + k}, text);
          if (!word) { return; }
          if (edit.after) { word.after(" ", added); } else { word.before(added, " "); }
          word = added;
        });
        break;
      case "delete_words":
        edit.words.forEach(function (id) { var w = wordEl(id); if (w) { w.classList.add("deleted"); } });
        break;
      case "move_words":
        edit.words.forEach(function (id) {
          var w = wordEl(id);
          if (w) { w.classList.add("moved"); w.dataset.to = edit.speaker; w.title = "to " + labels[edit.speaker]; }
        });
        // A whole turn moved: show it as the other speaker's turn.
        var turns = [];
        edit.words.forEach(function (id) { var t = turnOf(wordEl(id)); if (t && turns.indexOf(t) < 0) { turns.push(t); } });
        turns.forEach(function (turn) {
          var all = Array.prototype.every.call(turn.querySelectorAll(".w"), function (w) {
            return w.dataset.to === edit.speaker || w.classList.contains("deleted");
          });
          if (all) { setTurnSpeaker(turn, edit.speaker); }
        });
        break;
      case "split_turn":
        word = wordEl(edit.at);
        if (word) { word.classList.add("split-before"); if (edit.speaker) { word.dataset.to = edit.speaker; word.classList.add("moved"); } }
        break;
      case "merge_turns":
        word = wordEl(edit.at);
        if (word) { word.classList.add("merge-before"); }
        break;
      case "rename_speaker":
        labels[edit.speaker] = edit.label;
        Array.prototype.forEach.call(main.querySelectorAll('.turn[data-speaker="' + edit.speaker + '"] .who'), function (who) {
          who.textContent = edit.label + ":";
        });
        break;
      case "remove_mark":
      case "add_mark":
        word = wordEl(edit.first);
        if (word) {
          word.classList.add(edit.kind === "remove_mark" ? "mark-removed" : "mark-added");
          word.title = (edit.kind === "remove_mark" ? "mark removed: " : "mark added: ") + edit.mark;
        }
        break;
      case "note":
        word = wordEl(edit.word);
        if (word) {
          var line = word.closest(".line");
          line.classList.add("noted");
          line.title = (line.title ? line.title + "\n" : "") + "note: " + edit.text;
        }
        break;
      case "checked":
        if (edit.scope === "transcript") { checkedAll.checked = edit.checked; break; }
        word = wordEl(edit.word);
        if (word) { word.closest(".line").classList.toggle("checked", edit.checked); }
        break;
    }
  }

  request("GET", "/journal").then(function (answer) {
    answer.edits.forEach(function (edit) {
      if (edit.seq > editing.applied) { show(edit); pending += 1; }
    });
    showPending();
  }, function (error) { say("cannot read the corrections journal: " + error.message, true); });

  // ---- the word editor -----------------------------------------------------------------

  var editor = el("div", {"class": "word-editor", id: "word-editor", hidden: ""});
  editor.innerHTML =
    '<div class="we-row"><input type="text" id="we-text" maxlength="400" aria-label="Word">' +
    '<button type="button" id="we-correct">Correct</button>' +
    '<button type="button" id="we-insert" title="Insert the typed words after this one">Insert after</button>' +
    '<button type="button" id="we-delete">Delete</button>' +
    '<button type="button" id="we-close" aria-label="Close">x</button></div>' +
    '<div class="we-row"><select id="we-speaker" aria-label="Speaker"></select>' +
    '<button type="button" id="we-move-turn">Move turn</button>' +
    '<button type="button" id="we-move-word">Move word</button>' +
    '<button type="button" id="we-split" title="A new turn starts at this word">Split turn here</button>' +
    '<button type="button" id="we-merge" title="This turn joins the turn before">Merge with previous</button></div>' +
    '<div class="we-row"><select id="we-mark" aria-label="Mark"></select>' +
    '<button type="button" id="we-add-mark">Add mark</button><span id="we-marks"></span></div>' +
    '<div class="we-row"><input type="text" id="we-note" maxlength="2000" placeholder="Note on this line" aria-label="Note">' +
    '<button type="button" id="we-add-note">Add note</button>' +
    '<button type="button" id="we-line-checked">Line checked</button></div>';
  document.body.appendChild(editor);
  var field = function (id) { return document.getElementById(id); };
  data.speakers.forEach(function (s) { option(field("we-speaker"), s.id, s.label); });
  editing.kinds.forEach(function (kind) { option(field("we-mark"), kind, kind); });
  var target = null; // the word being edited

  function context(word) {
    var line = word.closest(".line");
    var turn = turnOf(word);
    var turns = Array.prototype.slice.call(main.querySelectorAll(".turn"));
    var where = {};
    if (line) { where.line = Number(line.dataset.n); }
    if (turn) { where.turn = turns.indexOf(turn); }
    return where;
  }

  function edit(fields) {
    var body = context(target);
    Object.keys(fields).forEach(function (name) { body[name] = fields[name]; });
    return send(body);
  }

  function turnWordIds(word) {
    var turn = turnOf(word);
    var words = turn ? turn.querySelectorAll(".w") : [word];
    return Array.prototype.map.call(words, function (w) { return w.dataset.id; });
  }

  function marksOn(id) {
    return editing.annotations.filter(function (a) { return a.first === id || a.last === id; });
  }

  function openEditor(word) {
    target = word;
    field("we-text").value = word.textContent;
    var turn = turnOf(word);
    var speaker = turn ? turn.dataset.speaker : data.speakers[0].id;
    var other = data.speakers.filter(function (s) { return s.id !== speaker; })[0];
    field("we-speaker").value = other ? other.id : speaker;
    var list = field("we-marks");
    list.textContent = "";
    marksOn(word.dataset.id).forEach(function (mark) {
      var button = el("button", {type: "button", "class": "we-remove-mark", "data-kind": mark.kind}, "remove " + mark.kind);
      button.addEventListener("click", function () {
        edit({kind: "remove_mark", mark: mark.kind, first: mark.first, last: mark.last}).then(closeEditor, function () {});
      });
      list.appendChild(button);
    });
    editor.hidden = false;
    var box = word.getBoundingClientRect();
    editor.style.top = (window.scrollY + box.bottom + 4) + "px";
    editor.style.left = Math.max(4, Math.min(window.scrollX + box.left, window.innerWidth - editor.offsetWidth - 8)) + "px";
    field("we-text").focus();
    field("we-text").select();
  }

  function closeEditor() {
    editor.hidden = true;
    target = null;
  }

  function typedWords() {
    return field("we-text").value.trim().split(/\s+/).filter(function (w) { return w !== ""; });
  }

  function correct() {
    var words = typedWords();
    if (!words.length) { say("type the word (or use Delete)", true); return; }
    var id = target.dataset.id;
    edit({kind: "correct_word", word: id, text: words[0]}).then(function () {
      return words.length > 1 ? edit({kind: "insert_words", after: id, texts: words.slice(1)}) : null;
    }).then(closeEditor, function () {});
  }

  // Clicking a word edits it (Alt+click still plays from it, as on the read-only page).
  document.addEventListener("click", function (event) {
    var word = event.target.closest ? event.target.closest("#transcript .w") : null;
    if (!word || event.altKey || !word.dataset.id) { return; }
    event.stopPropagation();
    event.preventDefault();
    openEditor(word);
  }, true);

  field("we-correct").addEventListener("click", correct);
  field("we-text").addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); correct(); }
    if (event.key === "Escape") { closeEditor(); }
  });
  field("we-close").addEventListener("click", closeEditor);
  field("we-insert").addEventListener("click", function () {
    var words = typedWords();
    if (!words.length) { say("type the words to insert", true); return; }
    edit({kind: "insert_words", after: target.dataset.id, texts: words}).then(closeEditor, function () {});
  });
  field("we-delete").addEventListener("click", function () {
    edit({kind: "delete_words", words: [target.dataset.id]}).then(closeEditor, function () {});
  });
  field("we-move-turn").addEventListener("click", function () {
    edit({kind: "move_words", words: turnWordIds(target), speaker: field("we-speaker").value}).then(closeEditor, function () {});
  });
  field("we-move-word").addEventListener("click", function () {
    edit({kind: "move_words", words: [target.dataset.id], speaker: field("we-speaker").value}).then(closeEditor, function () {});
  });
  field("we-split").addEventListener("click", function () {
    edit({kind: "split_turn", at: target.dataset.id}).then(closeEditor, function () {});
  });
  field("we-merge").addEventListener("click", function () {
    var turn = turnOf(target);
    var first = turn ? turn.querySelector(".w") : target;
    edit({kind: "merge_turns", at: first.dataset.id}).then(closeEditor, function () {});
  });
  field("we-add-mark").addEventListener("click", function () {
    edit({kind: "add_mark", mark: field("we-mark").value, first: target.dataset.id, last: target.dataset.id})
      .then(closeEditor, function () {});
  });
  field("we-add-note").addEventListener("click", function () {
    var text = field("we-note").value.trim();
    if (!text) { say("type the note first", true); return; }
    edit({kind: "note", word: target.dataset.id, text: text}).then(function () {
      field("we-note").value = "";
      closeEditor();
    }, function () {});
  });
  field("we-line-checked").addEventListener("click", function () {
    var line = target.closest(".line");
    var first = line.querySelector(".w[data-id]") || target;
    edit({kind: "checked", scope: "line", word: first.dataset.id, checked: !line.classList.contains("checked")})
      .then(closeEditor, function () {});
  });

  // ---- the toolbar's actions -----------------------------------------------------------

  renameButton.addEventListener("click", function () {
    var label = renameTo.value.trim();
    if (!label) { say("type the new label", true); return; }
    send({kind: "rename_speaker", speaker: renameWho.value, label: label}).then(function () { renameTo.value = ""; }, function () {});
  });
  checkedAll.addEventListener("change", function () {
    send({kind: "checked", scope: "transcript", checked: checkedAll.checked}).catch(function () {
      checkedAll.checked = !checkedAll.checked;
    });
  });
  save.addEventListener("click", function () {
    save.disabled = true;
    say("applying the corrections (re-aligning edited words, measuring again)...");
    request("POST", "/apply").then(function (answer) {
      say("saved: version " + answer.version);
      window.location.reload();
    }, function (error) {
      save.disabled = false;
      say("not applied: " + error.message, true);
    });
  });
  speed.addEventListener("change", function () { audio.playbackRate = Number(speed.value); });

  function applyFilter() {
    var kind = filter.value;
    Array.prototype.forEach.call(main.querySelectorAll(".line"), function (line) {
      var flagged = kind === "all" ||
        (kind === "attention" ? line.querySelector(".w[data-attn]") : line.querySelector('.w[data-attn="' + kind + '"]'));
      line.classList.toggle("filtered-out", !flagged);
    });
    document.body.classList.toggle("filtering", kind !== "all");
  }
  filter.addEventListener("change", applyFilter);

  // R: replay the last seconds (when not typing).
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var tag = event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }
    if (event.key === "r" || event.key === "R") {
      audio.currentTime = Math.max(0, audio.currentTime - REPLAY_S);
      var started = audio.play();
      if (started && started.catch) { started.catch(function () {}); }
      event.preventDefault();
    } else if (event.key === "Escape") {
      closeEditor();
    }
  });

  document.body.dataset.editing = "1";
})();

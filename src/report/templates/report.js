// report.html: filter checks by verdict and text. No network, no storage; the page works without
// it (everything is shown). Having run to the end, it sets the body's data-ready attribute (the
// browser test looks for it).
(function () {
  "use strict";
  var form = document.getElementById("filter");
  var search = document.getElementById("search");
  var shown = document.getElementById("shown");
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=verdict]"));
  var checks = Array.prototype.slice.call(document.querySelectorAll("#checks details.check"));
  var families = Array.prototype.slice.call(document.querySelectorAll("#checks section.family"));

  function text(check) {
    var s = check.querySelector("summary");
    var m = check.querySelector(".message");
    return ((s ? s.textContent : "") + " " + (m ? m.textContent : "")).toLowerCase();
  }
  var texts = checks.map(text);

  function apply() {
    var on = {};
    boxes.forEach(function (b) { on[b.value] = b.checked; });
    var q = search.value.trim().toLowerCase();
    var n = 0;
    checks.forEach(function (c, i) {
      var visible = on[c.getAttribute("data-verdict")] === true && (q === "" || texts[i].indexOf(q) >= 0);
      c.hidden = !visible;
      if (visible) { n += 1; }
    });
    families.forEach(function (f) {
      f.hidden = f.querySelector("details.check:not([hidden])") === null;
    });
    shown.textContent = "showing " + n + " of " + checks.length + " checks";
  }

  // A link can carry a filter: report.html#verdict=fail,error
  var wanted = /(?:^#|&)verdict=([a-z,]+)/.exec(window.location.hash);
  if (wanted !== null) {
    var list = wanted[1].split(",");
    boxes.forEach(function (b) { b.checked = list.indexOf(b.value) >= 0; });
  }

  form.addEventListener("change", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  search.addEventListener("input", apply);
  Array.prototype.forEach.call(document.querySelectorAll(".tile[data-verdict]"), function (tile) {
    tile.addEventListener("click", function () {
      var v = tile.getAttribute("data-verdict");
      var only = boxes.every(function (b) { return b.checked === (b.value === v); });
      boxes.forEach(function (b) { b.checked = only || b.value === v; });
      apply();
      document.getElementById("checks").scrollIntoView();
    });
  });
  function openAll(open) {
    checks.forEach(function (c) { if (!c.hidden) { c.open = open; } });
  }
  document.getElementById("expand").addEventListener("click", function () { openAll(true); });
  document.getElementById("collapse").addEventListener("click", function () { openAll(false); });

  apply();
  document.body.setAttribute("data-ready", "true");
}());

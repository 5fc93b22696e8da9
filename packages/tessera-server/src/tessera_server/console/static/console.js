// The console works without this script; it only arms the wipe button once the typed
// confirmation matches (the server checks the same text again).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[data-expect]").forEach(function (input) {
    var form = input.form;
    var button = form && form.querySelector("button[data-armed-by]");
    if (!button) return;
    var sync = function () { button.disabled = input.value !== input.dataset.expect; };
    input.addEventListener("input", sync);
    sync();
  });
});

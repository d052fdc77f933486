// The console's one script, and it is optional: every page works as plain HTML forms.
// A form marked data-once is sent once: a second click while the first is on its way does
// nothing (the server's Idempotency-Key would record it once anyway).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.hasAttribute("data-once")) return;
  var op = event.submitter && event.submitter.name === "op" ? event.submitter.value : "submit";
  if (op !== "submit") return; // adding or removing a party re-draws the form
  if (form.dataset.sent === "1") {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  form.setAttribute("aria-busy", "true");
});

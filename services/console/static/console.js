// Progressive enhancement only: every page works without this script.
// Forms with data-confirm ask before they are sent; a sent form's buttons are disabled so a
// double click does not send it twice.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  if (form.method.toLowerCase() === "post") {
    window.setTimeout(function () {
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    }, 0);
  }
});

// A contract service's tiers matter for graduated and volume pricing only, its unit price for
// per-unit pricing only: each is shown when it applies.
function showPricingFields(select) {
  var row = select.closest(".service-row");
  if (!row) return;
  var tiered = select.value !== "per_unit";
  row.querySelectorAll("[data-pricing]").forEach(function (field) {
    var tiers = field.getAttribute("data-pricing") === "tiers";
    var hasError = field.querySelector("[aria-invalid='true']") !== null;
    field.hidden = !hasError && tiers !== tiered;
  });
}
document.querySelectorAll(".service-row select[data-pricing-model]").forEach(showPricingFields);
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-pricing-model")) {
    showPricingFields(target);
  }
});

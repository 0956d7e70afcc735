// The few behaviours htmx does not cover: adding and removing document lines, filling the
// currency when a supplier is chosen (and offering a credit note only that supplier's invoices),
// and asking before an action that cannot be undone.
// Everything works without it except "Add line". No inline handlers anywhere: the
// Content-Security-Policy runs only script files from our own origin.
(function () {
  "use strict";

  function addLine() {
    var total = document.getElementById("id_lines-TOTAL_FORMS");
    var template = document.getElementById("line-template");
    var body = document.getElementById("lines-body");
    if (!total || !template || !body) return;
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    body.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var first = body.lastElementChild && body.lastElementChild.querySelector("input, select");
    if (first) first.focus();
  }

  function removeLine(button) {
    var row = button.closest("tr");
    var flag = row && row.querySelector("input[name$='-DELETE']");
    if (!row || !flag) return;
    // The formset drops rows marked DELETE; hiding keeps the indexes of the other rows intact.
    flag.checked = true;
    row.hidden = true;
  }

  function fillCurrency(select) {
    var data = document.getElementById("supplier-currencies");
    var currency = document.getElementById("id_currency");
    if (!data || !currency) return;
    var map = JSON.parse(data.textContent);
    if (map[select.value]) currency.value = map[select.value];
  }

  // A credit note's "Credits invoice": only the chosen supplier's invoices (each option carries
  // data-supplier); a choice of another supplier's invoice is cleared. The server checks it anyway.
  function filterCreditedInvoices(supplier) {
    var select = document.getElementById("id_credited_invoice");
    if (!select || !supplier) return;
    Array.prototype.forEach.call(select.options, function (option) {
      var owner = option.getAttribute("data-supplier");
      option.hidden = Boolean(owner && supplier.value && owner !== supplier.value);
    });
    var chosen = select.options[select.selectedIndex];
    if (chosen && chosen.hidden) select.value = "";
  }

  filterCreditedInvoices(document.getElementById("id_supplier"));

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.closest("[data-add-line]")) {
      event.preventDefault();
      addLine();
    } else if (target.closest("[data-remove-line]")) {
      event.preventDefault();
      removeLine(target.closest("[data-remove-line]"));
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.id === "id_supplier") {
      fillCurrency(target);
      filterCreditedInvoices(target);
    }
  });

  // <form data-confirm="Question?">: submitted only if the user says OK. Listening while the event
  // travels down (capture) runs before any listener on the form itself, htmx's included, so a
  // "Cancel" stops an hx-post form as surely as a plain one.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      var question = form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopPropagation();
      }
    },
    true
  );
})();

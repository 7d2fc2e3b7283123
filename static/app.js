// Small comforts only: every page works without this script.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // A checkbox with data-select-all="NAME" ticks every checkbox named NAME in its form.
  for (const all of document.querySelectorAll("input[data-select-all]")) {
    all.addEventListener("change", () => {
      // Boxes may sit outside their form's element (form="…"), so match on the form they belong to.
      for (const box of document.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`)) {
        if (box.form === all.form) box.checked = all.checked;
      }
    });
  }
  // A fieldset with data-needs-selection="NAME" shows once a checkbox named NAME of its form is
  // ticked (without this script it is always there).
  for (const bar of document.querySelectorAll("fieldset[data-needs-selection]")) {
    const boxes = () => [...document.querySelectorAll(`input[type=checkbox][name="${bar.dataset.needsSelection}"]`)]
      .filter((box) => box.form === bar.form);
    const update = () => { bar.hidden = !boxes().some((box) => box.checked); };
    document.addEventListener("change", update);
    update();
  }
  // A whole account covers its buildings: ticking it ticks and locks them, unticking frees them.
  for (const whole of document.querySelectorAll("input[data-whole-account]")) {
    whole.addEventListener("change", () => {
      for (const box of document.querySelectorAll(`input[data-in-account="${whole.dataset.wholeAccount}"]`)) {
        if (box.form !== whole.form) continue;
        box.checked = whole.checked;
        box.disabled = whole.checked;
        // Freed buildings are shown, to be ticked one by one.
        const list = box.closest("details.covered-list");
        if (list && !whole.checked) list.open = true;
      }
    });
  }
  // A filter (hidden without this script) shows only the accounts and buildings containing its text.
  for (const filter of document.querySelectorAll("[data-filter]")) {
    const input = filter.querySelector("input");
    const scope = filter.parentElement;
    filter.hidden = false;
    input.addEventListener("keydown", (event) => { if (event.key === "Enter") event.preventDefault(); });
    input.addEventListener("input", () => {
      const wanted = input.value.trim().toLowerCase();
      for (const account of scope.querySelectorAll("fieldset[data-account]")) {
        const named = account.querySelector("legend").textContent.toLowerCase().includes(wanted);
        let any = named;
        for (const row of account.querySelectorAll("input[data-in-account]")) {
          const shown = named || row.parentElement.textContent.toLowerCase().includes(wanted);
          row.parentElement.hidden = !shown;
          any = any || shown;
        }
        account.hidden = !any;
      }
    });
  }
  // A table row with data-href opens on double-click.
  for (const row of document.querySelectorAll("tr[data-href]")) {
    row.addEventListener("dblclick", () => { window.location.href = row.dataset.href; });
  }
});

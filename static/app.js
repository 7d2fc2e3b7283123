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
  // A table row with data-href opens on double-click.
  for (const row of document.querySelectorAll("tr[data-href]")) {
    row.addEventListener("dblclick", () => { window.location.href = row.dataset.href; });
  }
});

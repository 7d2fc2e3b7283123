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

// Passkeys: a button with data-passkey-options (the server's options, as JSON) asks the browser
// to make a passkey ("publicKey.user" is there) or to use one, then posts the answer in its
// form's "credential" field. Without this script, or without passkeys in the browser, the
// button stays hidden and the page says to use a code.
const fromBase64url = (text) =>
  Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const toBase64url = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function passkeyAnswer(options) {
  const publicKey = options.publicKey;
  publicKey.challenge = fromBase64url(publicKey.challenge);
  for (const list of [publicKey.excludeCredentials, publicKey.allowCredentials]) {
    for (const credential of list || []) credential.id = fromBase64url(credential.id);
  }
  if (publicKey.user) {
    publicKey.user.id = fromBase64url(publicKey.user.id);
    const made = await navigator.credentials.create({ publicKey });
    return {
      id: made.id, rawId: toBase64url(made.rawId), type: made.type,
      response: {
        attestationObject: toBase64url(made.response.attestationObject),
        clientDataJSON: toBase64url(made.response.clientDataJSON),
      },
      extensions: made.getClientExtensionResults(),
    };
  }
  const used = await navigator.credentials.get({ publicKey });
  return {
    id: used.id, rawId: toBase64url(used.rawId), type: used.type,
    response: {
      authenticatorData: toBase64url(used.response.authenticatorData),
      clientDataJSON: toBase64url(used.response.clientDataJSON),
      signature: toBase64url(used.response.signature),
      userHandle: used.response.userHandle ? toBase64url(used.response.userHandle) : null,
    },
    extensions: used.getClientExtensionResults(),
  };
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-passkey-options]")) {
    const form = button.form;
    const problem = form.querySelector("[data-passkey-error]");
    const say = (words) => { problem.textContent = words; problem.hidden = false; };
    if (!window.PublicKeyCredential) {
      say("This browser has no passkeys. Go back and use a code from your app.");
      continue;
    }
    button.hidden = false;
    button.addEventListener("click", async () => {
      problem.hidden = true;
      try {
        const answer = await passkeyAnswer(JSON.parse(button.dataset.passkeyOptions));
        form.elements.credential.value = JSON.stringify(answer);
        form.submit();
      } catch (error) {
        say("The browser did not finish (" + error.name + "). Try again, or use a code from your app.");
      }
    });
  }
});

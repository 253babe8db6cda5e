/* Web Push subscribe button of the public "Benachrichtigungen" page. */
"use strict";
(function () {
  const box = document.getElementById("push");
  if (!box) { return; }
  const status = document.getElementById("push-status");
  const on = document.getElementById("push-on");
  const off = document.getElementById("push-off");
  const say = (text) => { status.textContent = text; };

  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    on.disabled = true;
    say("Dieser Browser unterstützt keine Mitteilungen. Nutzen Sie die E-Mail-Benachrichtigung.");
    return;
  }

  function keyBytes(base64url) {
    const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(padded);
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": box.dataset.csrf },
      body: JSON.stringify(body),
    });
  }

  function show(subscribed) {
    on.hidden = subscribed;
    off.hidden = !subscribed;
  }

  const ready = navigator.serviceWorker.register(box.dataset.worker, { scope: box.dataset.scope })
    .then(() => navigator.serviceWorker.getRegistration(box.dataset.scope));

  ready.then((reg) => reg && reg.pushManager.getSubscription()).then((sub) => {
    show(Boolean(sub));
    if (sub) { say("Mitteilungen sind eingeschaltet."); }
  }).catch(() => {});

  on.addEventListener("click", async () => {
    on.disabled = true;
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        say("Mitteilungen wurden im Browser nicht erlaubt. Sie können das in den Einstellungen der Seite ändern.");
        return;
      }
      const reg = await ready;
      const sub = await reg.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(box.dataset.vapidKey),
      });
      const notices = document.getElementById("push-notices").checked;
      const response = await post(box.dataset.subscribeUrl, { subscription: sub.toJSON(), notices: notices });
      if (!response.ok) { throw new Error("status " + response.status); }
      show(true);
      say("Mitteilungen sind eingeschaltet. Sie erhalten Warnungen" + (notices ? " und neue Bekanntmachungen." : "."));
    } catch (err) {
      say("Das Einschalten hat nicht geklappt. Bitte versuchen Sie es später erneut.");
    } finally {
      on.disabled = false;
    }
  });

  off.addEventListener("click", async () => {
    const reg = await ready;
    const sub = reg && await reg.pushManager.getSubscription();
    if (sub) {
      await post(box.dataset.unsubscribeUrl, { endpoint: sub.endpoint });
      await sub.unsubscribe();
    }
    show(false);
    say("Mitteilungen sind ausgeschaltet.");
  });
})();

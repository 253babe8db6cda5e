/* Upload with a progress bar (progressive enhancement).
 *
 * Without JavaScript the form posts normally and the server answers with a page.
 * With it, the file goes by XMLHttpRequest so upload progress can be shown; the server
 * answers JSON ({redirect} on success, problem+json with German messages otherwise).
 */
(function () {
  "use strict";

  var TOO_LARGE = "Die Datei ist zu groß.";

  function mb(bytes) {
    return (bytes / 1024 / 1024).toLocaleString("de-DE", { maximumFractionDigits: 1 }) + " MB";
  }

  function init(form) {
    var input = form.querySelector("input[type=file]");
    var errorBox = form.querySelector("[data-upload-error]");
    var progressBox = form.querySelector("[data-upload-progress]");
    var progress = progressBox ? progressBox.querySelector("progress") : null;
    var status = form.querySelector("[data-upload-status]");
    var button = form.querySelector("button[type=submit]");
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
    if (!input || !window.FormData || !window.XMLHttpRequest) {
      return;
    }

    function showError(message) {
      if (errorBox) {
        errorBox.textContent = message;
        errorBox.hidden = false;
        var ids = (input.getAttribute("aria-describedby") || "").split(" ");
        if (ids.indexOf(errorBox.id) < 0) {
          ids.unshift(errorBox.id);
          input.setAttribute("aria-describedby", ids.join(" ").trim());
        }
      }
      input.setAttribute("aria-invalid", "true");
      if (status) {
        status.textContent = message;
      }
      if (progressBox) {
        progressBox.hidden = true;
      }
      if (button) {
        button.disabled = false;
      }
      input.focus();
    }

    function clearError() {
      if (errorBox) {
        errorBox.hidden = true;
        errorBox.textContent = "";
      }
      input.removeAttribute("aria-invalid");
    }

    form.addEventListener("submit", function (event) {
      var file = input.files && input.files[0];
      event.preventDefault();
      clearError();
      if (!file) {
        showError("Bitte eine Datei auswählen.");
        return;
      }
      if (maxBytes && file.size > maxBytes) {
        showError(TOO_LARGE + " Erlaubt sind höchstens " + mb(maxBytes) + ", die Datei hat " + mb(file.size) + ".");
        return;
      }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && progress) {
          var percent = Math.round((e.loaded / e.total) * 100);
          progress.value = percent;
          progress.textContent = percent + " %";
          if (status) {
            status.textContent = "Hochgeladen: " + percent + " %";
          }
        }
      });
      xhr.addEventListener("load", function () {
        var data = null;
        try {
          data = JSON.parse(xhr.responseText);
        } catch (ignored) {
          data = null;
        }
        if (xhr.status >= 200 && xhr.status < 300 && data && data.redirect) {
          if (status) {
            status.textContent = "Fertig. Die Seite wird neu geladen …";
          }
          var target = new URL(data.redirect, window.location.href);
          if (target.pathname === window.location.pathname && target.search === window.location.search) {
            // Only the fragment differs: assigning would just scroll, so reload.
            window.location.hash = target.hash;
            window.location.reload();
          } else {
            window.location.assign(target.href);
          }
          return;
        }
        var message;
        if (data && data.errors && data.errors.attachment) {
          message = data.errors.attachment;
          if (data.detail && data.detail !== message && xhr.status !== 413) {
            message = data.detail + " " + message;
          }
        } else if (xhr.status === 413) {
          message = TOO_LARGE + (maxBytes ? " Erlaubt sind höchstens " + mb(maxBytes) + "." : "");
        } else if (data && data.detail) {
          message = data.detail;
        } else {
          message = "Das Hochladen ist fehlgeschlagen (Fehler " + xhr.status + "). Bitte versuchen Sie es erneut.";
        }
        showError(message);
      });
      xhr.addEventListener("error", function () {
        showError("Die Verbindung zum Server ist unterbrochen. Bitte versuchen Sie es erneut.");
      });
      if (progressBox) {
        progressBox.hidden = false;
      }
      if (progress) {
        progress.value = 0;
      }
      if (button) {
        button.disabled = true;
      }
      if (status) {
        status.textContent = "Die Datei wird hochgeladen …";
      }
      xhr.send(new FormData(form));
    });
  }

  var forms = document.querySelectorAll("form[data-upload]");
  for (var i = 0; i < forms.length; i += 1) {
    init(forms[i]);
  }
})();

// The search box's camera scanner: only where the browser has its own BarcodeDetector.
// Progressive enhancement: the form works without this script; nothing is loaded from elsewhere.
(function () {
  "use strict";
  var form = document.getElementById("find-form");
  if (!form || !("BarcodeDetector" in window) || !navigator.mediaDevices) {
    return;
  }
  var input = form.querySelector("input[name=q]");
  var button = document.createElement("button");
  button.type = "button";
  button.className = "secondary";
  button.textContent = form.getAttribute("data-scan");
  var video = document.createElement("video");
  video.setAttribute("playsinline", "");
  video.muted = true;
  video.hidden = true;
  video.style.width = "100%";
  video.style.maxWidth = "24rem";
  form.appendChild(button);
  form.parentNode.insertBefore(video, form.nextSibling);
  var stream = null;
  var detector = new window.BarcodeDetector({ formats: ["qr_code"] });

  function stop() {
    if (stream) {
      stream.getTracks().forEach(function (t) { t.stop(); });
    }
    stream = null;
    video.hidden = true;
    button.textContent = form.getAttribute("data-scan");
  }

  function look() {
    if (!stream) {
      return;
    }
    detector.detect(video).then(function (codes) {
      if (codes.length && codes[0].rawValue) {
        input.value = codes[0].rawValue;
        stop();
        form.submit();
      } else {
        window.setTimeout(look, 250);
      }
    }).catch(function () { window.setTimeout(look, 500); });
  }

  button.addEventListener("click", function () {
    if (stream) {
      stop();
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false;
        button.textContent = form.getAttribute("data-stop");
        return video.play();
      })
      .then(look)
      .catch(stop);
  });
})();

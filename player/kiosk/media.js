/* Aushang kiosk page: pictures and videos of the rotation (issue 16). A video (H.264 MP4,
   cached by the player like every file) plays muted, for at most its item's time, and the
   rotation goes on when it ends; one that cannot play is skipped. kiosk.js decides when. */
window.AushangMedia = function (h) {
  "use strict";

  var el = h.el, rotation = h.rotation;

  function reveal(show) {
    // One visual at a time: the picture, the video, or (neither) the slide frames.
    h.showLayer("rotation");
    h.current.warning = null;
    h.frames().forEach(function (f) { f.classList.remove("active"); });
    el("image").hidden = show !== "image";
    el("video").hidden = show !== "video";
    el("page-indicator").hidden = true;
    rotation.pages = [];
    rotation.pageFrom = rotation.pageEnd = 0;
  }

  function stopVideo() {
    var video = el("video");
    if (!video.paused) video.pause();
    video.hidden = true;
  }

  function showImage(item) {
    var token = rotation.token, img = el("image");
    img.onload = function () {
      img.onload = null;
      if (token !== rotation.token) return;
      stopVideo();
      reveal("image");
      h.afterPaint(function () { if (token === rotation.token) h.played(item); });
      h.schedule(item.duration_s, h.next);
    };
    img.onerror = function () { if (token === rotation.token) h.schedule(1, h.next); };
    img.src = item.url;
  }

  function showVideo(item) {
    var token = rotation.token, video = el("video");
    video.muted = true; // a notice board makes no noise
    video.onplaying = function () {
      video.onplaying = null;
      if (token !== rotation.token) return;
      reveal("video");
      h.played(item);
      h.schedule(item.duration_s, h.next); // at most its time, however long the film
    };
    video.onended = function () { if (token === rotation.token) h.schedule(0, h.next); };
    video.onerror = function () { if (token === rotation.token) h.schedule(1, h.next); };
    if (video.getAttribute("src") !== item.url) video.src = item.url;
    video.currentTime = 0;
    var started = video.play();
    if (started && started.catch) started.catch(function () { if (token === rotation.token) h.schedule(1, h.next); });
  }

  return { showImage: showImage, showVideo: showVideo, stopVideo: stopVideo };
};

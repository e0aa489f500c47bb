// The source viewer: bring the cited passage to the middle of the screen and give it focus,
// so keyboard and screen-reader users start there too. Without this script the #cited
// fragment of the link still scrolls to it.
"use strict";

(() => {
  const cited = document.getElementById("cited");
  if (!cited) return;
  const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  cited.focus({ preventScroll: true });
  cited.scrollIntoView({ block: "center", behavior: reduce ? "auto" : "instant" });
})();

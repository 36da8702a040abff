// Optional (the pages work without it): scroll each drawing so its focus node is in view,
// since a wide neighbourhood would otherwise open on its far upstream edge.
document.querySelectorAll(".drawing").forEach(function (box) {
  var focus = box.querySelector("[data-focus]");
  if (!focus || !focus.getBBox) return;
  var r = focus.getBBox();
  box.scrollLeft = Math.max(0, r.x + r.width / 2 - box.clientWidth / 2);
  box.scrollTop = Math.max(0, r.y + r.height / 2 - box.clientHeight / 2);
});

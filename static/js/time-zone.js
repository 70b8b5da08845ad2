// Show times in the viewer's own zone: if the page only guessed, reload with the browser's zone.
(function () {
  var page = document.querySelector("[data-zone-confirmed]");
  if (!page || page.dataset.zoneConfirmed === "true") return;
  var browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!browserZone || browserZone === page.dataset.zone) return;
  var url = new URL(window.location.href);
  url.searchParams.set("tz", browserZone);
  window.location.replace(url.toString());
})();

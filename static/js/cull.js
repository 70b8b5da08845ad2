// The culling page: decisions by click or key without reloading (the progress bar is
// ai_progress.js's). Without JavaScript the forms post and the page reloads.
(function () {
  const csrf = document.querySelector("[name=csrfmiddlewaretoken]");

  function decide(card, decision) {
    return fetch(card.dataset.decide, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf.value},
      body: JSON.stringify({decision: decision}),
    })
      .then((response) => response.json())
      .then((row) => {
        if (!row.decision) return;
        card.classList.remove("keep", "maybe", "reject");
        card.classList.add(row.decision);
        const badge = card.querySelector(".badge");
        if (badge) { badge.className = "badge " + row.decision; badge.textContent = row.decision; }
        card.querySelectorAll(".decide button").forEach((button) => {
          button.setAttribute("aria-pressed", String(button.value === row.decision));
        });
      });
  }

  const grid = document.getElementById("cull-grid");
  if (!grid) return;
  grid.addEventListener("click", (event) => {
    const button = event.target.closest(".decide button");
    if (!button) return;
    event.preventDefault();
    decide(button.closest(".cull"), button.value);
  });
  const keys = {k: "keep", m: "maybe", r: "reject"};
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
    const cards = [...grid.querySelectorAll(".cull[data-decide]")];
    const current = document.activeElement.closest ? document.activeElement.closest(".cull") : null;
    const index = cards.indexOf(current);
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      const next = cards[Math.max(0, Math.min(cards.length - 1, index + (event.key === "ArrowRight" ? 1 : -1)))];
      if (next) { next.focus(); event.preventDefault(); }
    } else if (keys[event.key.toLowerCase()] && current && current.querySelector(".decide")) {
      decide(current, keys[event.key.toLowerCase()]).then(() => {
        const next = cards[index + 1];
        if (next) next.focus();
      });
      event.preventDefault();
    }
  });
})();
